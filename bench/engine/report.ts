/** The results: a table on stdout, or JSON with every sample. */
import { availableParallelism, cpus, totalmem } from "node:os";
import { DatabaseSync } from "node:sqlite";
import type { StreamResult } from "../stream-child.ts";
import { median, peakRssMiB } from "../util.ts";
import type { Diagnosis } from "./diagnostics.ts";
import { REPS } from "./fixtures.ts";
import { checks, type Measure, timeRatio, type Unit } from "./rows.ts";

function sqliteVersion(): string {
  const db = new DatabaseSync(":memory:");
  try {
    return (db.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v;
  } finally {
    db.close();
  }
}

function format(value: number, unit: Unit): string {
  if (unit === "ms") return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
  if (unit === "MiB") return `${value.toFixed(1)} MiB`;
  if (unit === "MB/s") return `${value.toFixed(0)} MB/s`;
  return `${Math.round(value).toLocaleString("en-US")}/s`;
}

/** A short form for the range column: 54.2k, 12.3, 480. */
function compact(value: number, unit: Unit): string {
  if (unit === "ops/s") return value >= 1000 ? `${(value / 1000).toFixed(1)}k` : value.toFixed(0);
  return value < 100 ? value.toFixed(1) : value.toFixed(0);
}

/** The table (or with `json`, the JSON) on stdout: rows in the order given, diagnostics, peak RSS and checks. */
export function printResults(measures: Measure[], diagnostics: Diagnosis[], children: StreamResult[], totalSeconds: number, json: boolean): void {
  const machine = {
    date: new Date().toISOString(),
    node: process.version,
    sqlite: sqliteVersion(),
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    platform: `${process.platform} ${process.arch}`,
  };
  const rows = measures.map((m) => {
    const engine = m.engine.length ? median(m.engine) : undefined;
    const floor = m.floor.length ? median(m.floor) : undefined;
    return {
      id: m.id,
      label: m.label.trim(),
      unit: m.unit,
      engine: engine ?? null,
      floor: floor ?? null,
      engineSamples: m.engine,
      floorSamples: m.floor,
      /** How many times longer the engine takes than the floor (null where it means nothing). */
      timeRatio: timeRatio(m) ?? null,
      floorDoes: m.floorDoes,
      target: m.target && engine !== undefined ? { text: m.target.text, met: m.target.met(engine) } : null,
    };
  });
  const peakRss = {
    mainMiB: peakRssMiB(),
    streamChildMaxMiB: Math.max(...children.map((c) => c.maxRssMiB)),
  };

  if (json) {
    console.log(JSON.stringify({ machine, reps: REPS, totalSeconds, results: rows, diagnostics, checks, peakRss }, null, 2));
  } else {
    const table: string[][] = [["operation", "engine", "floor", "engine/floor time", "engine range", "target", "met"]];
    for (const m of measures) {
      const engine = m.engine.length ? median(m.engine) : undefined;
      const floor = m.floor.length ? median(m.floor) : undefined;
      const ratio = timeRatio(m);
      const cell = (v: number | undefined) => (v === undefined ? "—" : format(v, m.unit) + (m.detail ? ` (${m.detail(v)})` : ""));
      table.push([
        m.label,
        cell(engine),
        cell(floor),
        ratio === undefined ? "—" : `${ratio.toFixed(2)}x`,
        m.engine.length > 1 ? `${compact(Math.min(...m.engine), m.unit)}–${compact(Math.max(...m.engine), m.unit)}` : "",
        m.target?.text ?? "",
        m.target && engine !== undefined ? (m.target.met(engine) ? "yes" : "NO") : "",
      ]);
    }
    const widths = table[0]!.map((_, col) => Math.max(...table.map((r) => r[col]!.length)));
    const line = (r: string[]) => r.map((c, col) => (col === 0 ? c.padEnd(widths[col]!) : c.padStart(widths[col]!))).join("  ");
    console.log(
      `WorkspaceFs bench — ${machine.date.slice(0, 10)}, node ${machine.node}, sqlite ${machine.sqlite}, ${machine.cpus} cpus (${machine.cpuModel}), median of ${REPS}`,
    );
    console.log();
    console.log(line(table[0]!));
    console.log(widths.map((w) => "-".repeat(w)).join("  "));
    for (const r of table.slice(1)) console.log(line(r));
    console.log();
    console.log("floor = plain node:sqlite (WAL, synchronous=NORMAL, same tables), doing:");
    for (const m of measures) console.log(`  ${m.label.trim()}: ${m.floorDoes}`);
    console.log();
    console.log("per operation, untimed (N = 200 each): SQL statements (a transaction counts as 1) / WAL pages written");
    const diag: string[][] = [["operation", "engine stmts", "floor stmts", "engine WAL pages", "floor WAL pages"]];
    for (const d of diagnostics) {
      diag.push([d.op, d.engine.statements.toFixed(1), d.floor.statements.toFixed(1), d.engine.walPages.toFixed(1), d.floor.walPages.toFixed(1)]);
    }
    const diagWidths = diag[0]!.map((_, col) => Math.max(...diag.map((r) => r[col]!.length)));
    for (const r of diag) console.log(`  ${r.map((c, col) => (col === 0 ? c.padEnd(diagWidths[col]!) : c.padStart(diagWidths[col]!))).join("  ")}`);
    console.log();
    console.log(
      `peak RSS: bench process ${peakRss.mainMiB.toFixed(0)} MiB (holds the 64 MiB test buffer and a 64 MiB read), stream child ${peakRss.streamChildMaxMiB.toFixed(0)} MiB`,
    );
    const failed = checks.filter((c) => !c.ok);
    console.log(`checks: ${checks.length - failed.length}/${checks.length} passed${failed.length ? `; FAILED: ${failed.map((c) => c.what).join("; ")}` : ""}`);
    console.log(`total ${totalSeconds.toFixed(0)} s`);
  }
}
