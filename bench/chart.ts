import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Ratio charts for bench/README.md, as SVG: one group of horizontal bars per row (a scenario or a
 * tool), one bar per series (wsd÷computerd, ours÷peer, …), on a log scale around 1x, so "twice as
 * slow" and "twice as fast" are the same length either side of the line.
 */
export interface RatioChart {
  title: string;
  /** The series' names, in bar order; each row has a value per series (undefined: none). */
  series: string[];
  rows: { label: string; values: (number | undefined)[] }[];
  /** A line under the title: the machine, the date. */
  note?: string;
}

const COLORS = ["#0969da", "#bf8700", "#8250df", "#1a7f37"];
const LABEL_WIDTH = 260;
const PLOT_WIDTH = 520;
const BAR = 12;
const GAP = 10;

export function ratioChartSvg(chart: RatioChart): string {
  const values = chart.rows.flatMap((row) => row.values.filter((value): value is number => value !== undefined && value > 0));
  const low = Math.min(0.25, ...values.map((value) => value / 1.2));
  const high = Math.max(4, ...values.map((value) => value * 1.2));
  const x = (value: number) => LABEL_WIDTH + ((Math.log(value) - Math.log(low)) / (Math.log(high) - Math.log(low))) * PLOT_WIDTH;
  const groupHeight = chart.series.length * BAR + GAP;
  const top = 64;
  const height = top + chart.rows.length * groupHeight + 40;
  const out: string[] = [];
  out.push(`<text x="10" y="22" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`);
  if (chart.note) out.push(`<text x="10" y="40" font-size="11" fill="#57606a">${escapeXml(chart.note)}</text>`);
  chart.series.forEach((name, i) => {
    const left = LABEL_WIDTH + i * 170;
    out.push(
      `<rect x="${left}" y="48" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${left + 14}" y="57" font-size="11">${escapeXml(name)}</text>`,
    );
  });
  for (const tick of [0.25, 0.5, 1, 2, 4, 8, 16, 32].filter((value) => value >= low && value <= high)) {
    out.push(
      `<line x1="${x(tick)}" x2="${x(tick)}" y1="${top - 4}" y2="${height - 30}" stroke="${tick === 1 ? "#24292f" : "#d0d7de"}" stroke-width="${tick === 1 ? 1.5 : 1}"/>`,
      `<text x="${x(tick)}" y="${height - 16}" font-size="11" text-anchor="middle">${tick}x</text>`,
    );
  }
  chart.rows.forEach((row, r) => {
    const y = top + r * groupHeight;
    out.push(`<text x="${LABEL_WIDTH - 8}" y="${y + (chart.series.length * BAR) / 2 + 4}" font-size="12" text-anchor="end">${escapeXml(row.label)}</text>`);
    row.values.forEach((value, s) => {
      if (value === undefined || !(value > 0)) return;
      const [from, to] = value >= 1 ? [x(1), x(value)] : [x(value), x(1)];
      const barY = y + s * BAR;
      out.push(
        `<rect x="${from}" y="${barY}" width="${Math.max(1, to - from)}" height="${BAR - 2}" fill="${COLORS[s % COLORS.length]}"/>`,
        `<text x="${value >= 1 ? to + 4 : from - 4}" y="${barY + BAR - 3}" font-size="10" text-anchor="${value >= 1 ? "start" : "end"}">${value.toFixed(2)}x</text>`,
      );
    });
  });
  const width = LABEL_WIDTH + PLOT_WIDTH + 60;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif"><title>${escapeXml(chart.title)}</title><rect width="100%" height="100%" fill="#fff"/>${out.join("")}</svg>\n`;
}

/** Writes the chart to `path` (its folder made if needed). */
export function writeRatioChart(path: string, chart: RatioChart): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, ratioChartSvg(chart));
}

const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
