/**
 * A run's results as JSON (everything, for tools), as a Markdown table and as an HTML page (for
 * people): one row per task, our server and, with --peer, the official filesystem server side by
 * side; the page also shows what each task did to the tree.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Status, TaskResult, TaskRun } from "./runner.ts";

export interface RunReport {
  runId: string;
  date: string;
  mode: "reference" | "model";
  /** `provider/model` in model mode. */
  model?: string;
  server: string;
  /** "attached", or why not. */
  mount: string;
  /** `package@version` when the peer ran. */
  peer?: string;
  tasks: TaskRun[];
}

const STATUSES: Status[] = ["pass", "fail", "skipped", "not expressible"];

/** Counts of each status for one target. */
function countStatuses(results: TaskResult[]): Record<Status, number> {
  const counts = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<Status, number>;
  for (const result of results) counts[result.status]++;
  return counts;
}

/** Writes `<out>/<mode>-<runId>.json`, `.md` and `.html`; returns their paths. */
export async function writeReport(report: RunReport, out: string): Promise<{ json: string; markdown: string; html: string }> {
  await mkdir(out, { recursive: true });
  const base = join(out, `${report.mode}-${report.runId}`);
  const files = { json: `${base}.json`, markdown: `${base}.md`, html: `${base}.html` };
  await writeFile(files.json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(files.markdown, markdownReport(report));
  await writeFile(files.html, htmlReport(report));
  return files;
}

/**
 * The run as a page to look at: the totals, then a row per task (status, tool calls, time, and
 * the peer beside it), each with the diff of what the run did to the tree, opened on a click.
 */
export function htmlReport(report: RunReport): string {
  const withPeer = report.tasks.some((task) => task.peer);
  const status = (result: TaskResult) =>
    `<td class="${result.status === "pass" ? "pass" : result.status === "fail" ? "fail" : "other"}">${escapeHtml(result.status)}${result.reason ? `<br><small>${escapeHtml(result.reason)}</small>` : ""}</td>`;
  const cells = (result: TaskResult) => `${status(result)}<td>${result.toolCalls}</td><td>${escapeHtml(formatMs(result.wallMs))}</td>`;
  const rows = report.tasks.map((task) => {
    const diff = task.workspace.treeDiff
      ? `<details><summary>what it changed</summary><pre>${task.workspace.treeDiff.split("\n").map(diffLine).join("\n")}</pre></details>`
      : "<small>(no change)</small>";
    return `<tr><th>${escapeHtml(task.name)}<br><small>${escapeHtml(task.kind)}</small></th>${cells(task.workspace)}<td>${diff}</td>${withPeer ? (task.peer ? cells(task.peer) : "<td>—</td><td></td><td></td>") : ""}</tr>`;
  });
  const totals = (label: string, results: TaskResult[]) => {
    const counts = countStatuses(results);
    return `<tr><th>${label}</th>${STATUSES.map((each) => `<td>${counts[each]}</td>`).join("")}</tr>`;
  };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Eval results: ${escapeHtml(report.mode)} mode</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; } table { border-collapse: collapse; } th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; vertical-align: top; text-align: left; }
.pass { background: #dafbe1; } .fail { background: #ffebe9; } .other { background: #fff8c5; } pre { font-size: 12px; margin: 0; max-width: 70rem; overflow: auto; }
.add { color: #1a7f37; } .del { color: #cf222e; } .hunk { color: #0969da; }
</style></head><body>
<h1>Eval results: ${escapeHtml(report.mode)} mode${report.model ? ` (${escapeHtml(report.model)})` : ""}</h1>
<p>Run ${escapeHtml(report.runId)}, ${escapeHtml(report.date)}. Server: ${escapeHtml(report.server)}. Mount: ${escapeHtml(report.mount)}.${report.peer ? ` Peer: ${escapeHtml(report.peer)}.` : ""}</p>
<table><tr><th>target</th>${STATUSES.map((each) => `<th>${each}</th>`).join("")}</tr>
${totals(
  "workspace",
  report.tasks.flatMap((task) => task.attempts ?? [task.workspace]),
)}
${
  withPeer
    ? totals(
        "peer",
        report.tasks.flatMap((task) => (task.peer ? [task.peer] : [])),
      )
    : ""
}</table>
<h2>Tasks</h2>
<table><tr><th>task</th><th>workspace</th><th>calls</th><th>time</th><th>the tree afterwards</th>${withPeer ? "<th>peer</th><th>calls</th><th>time</th>" : ""}</tr>
${rows.join("\n")}
</table></body></html>
`;
}

const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function diffLine(line: string): string {
  const kind =
    line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : line.startsWith("@@") ? "hunk" : "";
  return kind ? `<span class="${kind}">${escapeHtml(line)}</span>` : escapeHtml(line);
}

export function markdownReport(report: RunReport): string {
  const withPeer = report.tasks.some((task) => task.peer);
  const lines = [
    `# Eval results: ${report.mode} mode${report.model ? ` (${report.model})` : ""}`,
    "",
    `Run ${report.runId}, ${report.date}. Server: ${report.server}. Mount: ${report.mount}.${report.peer ? ` Peer: ${report.peer}.` : ""}`,
    "",
    `| target | ${STATUSES.join(" | ")} |`,
    `| --- | ${STATUSES.map(() => "---:").join(" | ")} |`,
    totalsRow(
      "workspace",
      report.tasks.map((task) => task.workspace),
    ),
    ...(withPeer
      ? [
          totalsRow(
            "peer",
            report.tasks.flatMap((task) => (task.peer ? [task.peer] : [])),
          ),
        ]
      : []),
    "",
    `| task | kind | workspace | calls | errors | time | tokens |${withPeer ? " peer | calls | errors | time |" : ""}`,
    `| --- | --- | --- | ---: | ---: | ---: | ---: |${withPeer ? " --- | ---: | ---: | ---: |" : ""}`,
    ...report.tasks.map(
      ({ name, kind, workspace, peer }) =>
        `| ${name} | ${kind} | ${resultCells(workspace, true)} |${withPeer ? ` ${peer ? resultCells(peer, false) : "— | | | "} |` : ""}`,
    ),
  ];
  const repeated = report.tasks.filter((task) => task.attempts);
  if (repeated.length) {
    const times = (by: "seed" | "restore") =>
      repeated.flatMap((task) => task.attempts!.filter((result) => result.prepared?.by === by).map((result) => result.prepared!.ms));
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
    const [seeded, restored] = [times("seed"), times("restore")];
    lines.push(
      "",
      "## Attempts",
      "",
      `Each task ran ${repeated[0]!.attempts!.length} times on the workspace: the first attempt seeded it (mean ${formatMs(mean(seeded))}), each further one restored its start checkpoint instead (mean ${formatMs(mean(restored))}, ${(mean(seeded) / Math.max(0.001, mean(restored))).toFixed(1)}x less time).`,
      "",
      "| task | attempts passed | each attempt |",
      "| --- | ---: | --- |",
      ...repeated.map(
        (task) =>
          `| ${task.name} | ${task.attempts!.filter((result) => result.status === "pass").length}/${task.attempts!.length} | ${task.attempts!.map((result) => `${result.status} (${result.prepared?.by} ${formatMs(result.prepared?.ms ?? 0)})`).join(", ")} |`,
      ),
    );
  }
  const failures = report.tasks
    .flatMap((task) => [...(task.attempts ?? [task.workspace]), ...(task.peer ? [task.peer] : [])])
    .filter((result) => result.status === "fail");
  if (failures.length) {
    lines.push("", "## Failures", "");
    for (const result of failures) {
      lines.push(`- **${result.task}** (${result.target}): ${cell(result.reason ?? "")}`);
      const others = result.checks.filter((check) => check.status === "fail").map((check) => `${check.check}: ${check.why}`);
      for (const other of others.filter((line) => line !== result.reason)) lines.push(`  - also ${cell(other)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function totalsRow(target: string, results: TaskResult[]): string {
  const counts = countStatuses(results);
  return `| ${target} | ${STATUSES.map((status) => counts[status]).join(" | ")} |`;
}

function resultCells(result: TaskResult, withTokens: boolean): string {
  const ran = result.status !== "not expressible";
  const cells = [statusCell(result), ...(ran ? [String(result.toolCalls), String(result.toolErrors.length), formatMs(result.wallMs)] : ["", "", ""])];
  if (withTokens) cells.push(result.tokens ? `${result.tokens.input} in / ${result.tokens.output} out` : "—");
  return cells.join(" | ");
}

function statusCell(result: TaskResult): string {
  switch (result.status) {
    case "pass":
      return "pass";
    case "fail":
      return `**FAIL**: ${cell(result.reason ?? "")}`;
    default:
      return `${result.status}: ${cell(result.reason ?? "")}`;
  }
}

/** Text made safe for one table cell. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");

export const formatMs = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
