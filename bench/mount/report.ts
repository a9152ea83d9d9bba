/** The results as markdown tables on stdout. */
import type { LatencyResult } from "./latency.ts";
import type { PushLookups } from "./lookups-during-push.ts";
import { STALL_MS, WSD_ARGS } from "./options.ts";
import type { ResumeResult, StartSample } from "./resume.ts";
import type { ScenarioResult } from "./scenarios.ts";
import { median, type Stats } from "./stats.ts";

export function fmtMs(ms: number | undefined): string {
  if (ms === undefined) return "—";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}
export const fmtX = (x: number | undefined) => (x === undefined ? "—" : `${x < 10 ? x.toFixed(2) : x.toFixed(1)}x`);
const yesNo = (value: boolean | undefined) => (value === undefined ? "—" : value ? "yes" : "**no**");

export function printReport(report: {
  date: string;
  machine: { cpus: number; cpuModel?: string; node: string; loadavgBefore: number[]; loadavgAfter: number[] };
  reps: number;
  pinned: boolean;
  scenarios: ScenarioResult[];
  latency?: LatencyResult;
  pushLookups?: PushLookups;
  resume?: ResumeResult;
  runSeconds: number;
  wsdLog: string[];
}): void {
  const out: string[] = [];
  const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
  out.push(
    `Mount benchmark, ${report.date.slice(0, 10)}: ${report.machine.cpus} vCPU (${report.machine.cpuModel}), Node ${report.machine.node}, load average ${la(report.machine.loadavgBefore)} before, ${la(report.machine.loadavgAfter)} after; median of ${report.reps}, times inside the shell${report.pinned ? "; pinned: the server on CPU 0, the rest on CPU 1" : "; unpinned"}${WSD_ARGS.length ? `; wsd ${WSD_ARGS.join(" ")}` : ""}`,
  );
  out.push("");
  out.push(
    "| scenario | tmpfs | disk | floor | computerd | wsd | **wsd÷computerd** | wsd÷floor | computerd÷floor | wsd÷tmpfs | floor÷tmpfs | wsd sync drain |",
  );
  out.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of report.scenarios) {
    if (r.skipped) {
      out.push(`| ${r.label} | skipped: ${r.skipped} ||||||||||`);
      continue;
    }
    const m = r.median;
    const versus = r.ratios.wsdComputerd === undefined ? "—" : r.ratios.wsdComputerd <= 1 ? fmtX(r.ratios.wsdComputerd) : `**${fmtX(r.ratios.wsdComputerd)}**`;
    out.push(
      `| ${r.label} | ${fmtMs(m.tmpfs)} | ${fmtMs(m.disk)} | ${fmtMs(m.floor)} | ${fmtMs(m.computerd)} | ${fmtMs(m.wsd)} | ${versus} | ${fmtX(r.ratios.wsdFloor)} | ${fmtX(r.ratios.computerdFloor)} | ${fmtX(r.ratios.wsdTmpfs)} | ${fmtX(r.ratios.floorTmpfs)} | ${fmtMs(r.drainMs.length ? median(r.drainMs) : undefined)} |`,
    );
  }
  const problems = report.scenarios.flatMap((r) => r.problems.map((p) => `${r.id}: ${p}`));
  for (const r of report.scenarios) {
    if (r.pushFailed || r.nudges || r.stalls)
      problems.push(
        `${r.id}: wsd logged ${r.pushFailed} "push failed" lines; the drain marker had to be written again ${r.nudges} time(s) after a failed push and ${r.stalls} time(s) after ${STALL_MS / 1000} s without progress before the workspace caught up`,
      );
  }
  if (problems.length) out.push("", "Problems:", ...problems.map((p) => `- ${p}`));
  if (report.latency) {
    const l = report.latency;
    out.push(
      "",
      `Propagation latency (ms; the mount polled every ${l.pollIntervalMs} ms; one files-route GET p50 ${l.getMs.p50.toFixed(1)} ms, GET /ping p50 ${l.pingMs.p50.toFixed(1)} ms):`,
      "",
    );
    out.push("| direction | n | p50 | p95 | max | writer's own p50 | after writer p50 | target p50 < 50, p95 < 200 |");
    out.push("|---|---:|---:|---:|---:|---:|---:|---|");
    for (const v of l.variants) {
      out.push(
        `| ${v.label} | ${v.e2e.n}${v.timeouts ? ` (+${v.timeouts} timeouts)` : ""} | ${v.e2e.p50.toFixed(1)} | ${v.e2e.p95.toFixed(1)} | ${v.e2e.max.toFixed(1)} | ${v.writer.p50.toFixed(1)} | ${v.afterWriter.p50.toFixed(1)} | ${v.target ? yesNo(v.target.met) : "—"} |`,
      );
    }
    const e = l.exec;
    out.push("", "The MCP exec tool (ms, p50 / p95):", "");
    out.push("| call | n | p50 | p95 |", "|---|---:|---:|---:|");
    out.push(`| \`stat\` tool (any tool call's cost) | ${e.statToolMs.n} | ${e.statToolMs.p50.toFixed(1)} | ${e.statToolMs.p95.toFixed(1)} |`);
    out.push(`| \`exec true\` | ${e.trueMs.n} | ${e.trueMs.p50.toFixed(1)} | ${e.trueMs.p95.toFixed(1)} |`);
    out.push(
      `| \`exec cat\` of a file written by MCP just before | ${e.afterWriteMs.n} | ${e.afterWriteMs.p50.toFixed(1)} | ${e.afterWriteMs.p95.toFixed(1)} |`,
    );
  }
  if (report.pushLookups) {
    const { idle, pushing, idleTotalMs, pushingTotalMs } = report.pushLookups;
    const row = (label: string, s: Stats, totals: number[]) =>
      `| ${label} | ${s.n} | ${s.p50.toFixed(3)} | ${s.p95.toFixed(3)} | ${s.max.toFixed(1)} | ${totals.map((t) => t.toFixed(0)).join(", ")} |`;
    out.push("", "Lookups in the mount (`stat` of absent names, ms), at rest and while a 64 MiB write is being pushed:", "");
    out.push("| when | n | p50 | p95 | max | 1,000 lookups, each run |", "|---|---:|---:|---:|---:|---|");
    out.push(row("at rest", idle, idleTotalMs), row("during the push", pushing, pushingTotalMs));
  }
  if (report.resume) {
    const r = report.resume;
    const startCell = (s: StartSample[]) =>
      `${fmtMs(median(s.map((x) => x.ms)))} (${s.map((x) => x.ms.toFixed(0)).join(", ")}); chunks fetched ${s.map((x) => x.chunksFetched ?? "?").join(", ")}`;
    out.push("", `Restart-resume, ${r.files} files:`, "");
    out.push(`- resume from its cache (spawn → "wsd: mounted"): ${startCell(r.resume)}`);
    out.push(`- cold start, empty cache: ${startCell(r.cold)}`);
    out.push(
      `- for scale: cold start of the empty workspace ${fmtMs(r.emptyColdMs)}; \`wsd --help\` (Node + imports) p50 ${fmtMs(r.processMs.p50)}; stop (SIGTERM → exit) p50 ${fmtMs(median(r.stopMs))}`,
    );
    out.push(`- tar x of the 3,000 files in the mount ${fmtMs(r.tarMs)}, in the workspace ${fmtMs(r.drainMs)} after that`);
    for (const p of r.problems) out.push(`- problem: ${p}`);
  }
  out.push("", `Run took ${report.runSeconds.toFixed(0)} s.`);
  process.stdout.write(`${out.join("\n")}\n`);
}
