/**
 * `npm run eval -- [flags]`: runs the eval tasks against a workspace server and reports per task.
 * See evals/README.md. Progress goes to stderr, the Markdown table to stdout, and both the JSON
 * and the Markdown into --out. Exits 1 when a task fails on our server in reference mode.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { cleanupRegistry } from "../harness/cleanup.ts";
import { startDevServer } from "../harness/dev-server.ts";
import { modelSettingsFromEnv } from "./model.ts";
import { mountUnavailable, stopAllMounts } from "./mount.ts";
import { PEER_PACKAGE, PEER_VERSION } from "./peer.ts";
import { formatMs, markdownReport, type RunReport, writeReport } from "./report.ts";
import { runTasks, type TaskResult, type TaskRun } from "./runner.ts";
import { loadTasks, selectTasks } from "./tasks.ts";
import { newRunId, type WorkspaceServer } from "./workspace.ts";

const USAGE = `npm run eval -- [flags]

  --server URL     a running server (default: start a local wrangler dev, stopped at the end)
  --token T        bearer token for the server
  --tasks FILTER   comma-separated task names, globs (json-*) or substrings (default: all)
  --mode M         reference (default): the scripted solutions; model: a model via the AI SDK
                   (EVAL_PROVIDER, EVAL_MODEL, OPENAI_API_KEY / ANTHROPIC_API_KEY, EVAL_BASE_URL)
  --peer           also run each task on ${PEER_PACKAGE}, side by side
  --mount DIR      mount each task's workspace with wsd under DIR: checks read the tree through the
                   mount as well, and command checks run through exec
  --attempts N     attempts per task on our server (default 1): the first seeds the workspace and
                   checkpoints it, each further one restores that checkpoint instead of seeding
  --out DIR        where the JSON and Markdown go (default: evals/results)`;

const log = (line: string) => process.stderr.write(`${line}\n`);

/** A mistake in the flags, the environment or a task file: said in one line, no stack. */
function refuse(message: string): never {
  log(message);
  process.exit(2);
}
const orRefuse = <T>(get: () => T | Promise<T>): Promise<T> =>
  Promise.resolve()
    .then(get)
    .catch((error: unknown) => refuse(error instanceof Error ? error.message : String(error)));

const { values: flags } = await orRefuse(() =>
  parseArgs({
    options: {
      server: { type: "string" },
      token: { type: "string" },
      tasks: { type: "string" },
      mode: { type: "string", default: "reference" },
      peer: { type: "boolean", default: false },
      mount: { type: "string" },
      attempts: { type: "string", default: "1" },
      out: { type: "string", default: join(import.meta.dirname, "results") },
      help: { type: "boolean", default: false },
    },
  }),
);
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}
const mode = flags.mode;
if (mode !== "reference" && mode !== "model") refuse(`--mode must be reference or model, not ${mode}\n\n${USAGE}`);

const attempts = Number(flags.attempts);
if (!Number.isInteger(attempts) || attempts < 1 || attempts > 100) refuse(`--attempts must be a whole number from 1 to 100, not ${flags.attempts}`);
const tasks = selectTasks(await orRefuse(() => loadTasks()), flags.tasks);
if (tasks.length === 0) refuse(`no task matches --tasks ${flags.tasks}`);
const model = mode === "model" ? await orRefuse(() => modelSettingsFromEnv()) : undefined;

const { steps: cleanups, cleanup } = cleanupRegistry(log, "stopping mounts and the dev server");
cleanups.push(stopAllMounts);

let mountRoot: string | undefined;
let mountNote = "not attached (no --mount)";
if (flags.mount) {
  const why = mountUnavailable();
  if (why) {
    mountNote = `not attached: ${why}`;
    log(`Not mounting: ${why}. The mount pass and command checks are skipped.`);
  } else {
    mountRoot = resolve(flags.mount);
    mountNote = `attached (wsd under ${mountRoot})`;
  }
}

try {
  let server: WorkspaceServer;
  let serverNote: string;
  if (flags.server) {
    server = { url: flags.server.replace(/\/+$/, ""), token: flags.token };
    serverNote = server.url;
  } else {
    const state = await mkdtemp(join(tmpdir(), "evals-wrangler-"));
    cleanups.push(() => rm(state, { recursive: true, force: true }));
    log("Starting wrangler dev…");
    const dev = await startDevServer({ persistTo: state, token: flags.token });
    cleanups.push(() => dev.stop());
    server = { url: dev.url, token: flags.token };
    serverNote = `${dev.url} (a local wrangler dev)`;
  }

  const runId = newRunId();
  log(
    `Run ${runId}: ${tasks.length} task${tasks.length === 1 ? "" : "s"}, ${mode} mode${model ? ` (${model.provider}/${model.model})` : ""}${flags.peer ? ", with the peer" : ""}.`,
  );
  const runs = await runTasks(tasks, server, { mode, model, runId, mountRoot, peer: flags.peer, attempts }, (run) => log(progressLine(run)));

  const report: RunReport = {
    runId,
    date: new Date().toISOString(),
    mode,
    server: serverNote,
    mount: mountNote,
    tasks: runs,
    ...(model ? { model: `${model.provider}/${model.model}` } : {}),
    ...(flags.peer ? { peer: `${PEER_PACKAGE}@${PEER_VERSION}` } : {}),
  };
  const files = await writeReport(report, resolve(flags.out));
  process.stdout.write(markdownReport(report));
  log(`\nWrote ${files.markdown}, ${files.html} and ${files.json}`);
  if (mode === "reference" && runs.some((run) => (run.attempts ?? [run.workspace]).some((result) => result.status === "fail"))) process.exitCode = 1;
} finally {
  await cleanup();
}

function progressLine(run: TaskRun): string {
  const describe = (label: string, result: TaskResult) =>
    `${label} ${result.status}${result.reason ? ` (${result.reason})` : ""}` +
    (result.status === "not expressible" ? "" : `, ${result.toolCalls} calls, ${formatMs(result.wallMs)}`);
  return `  ${run.name}: ${describe("workspace", run.workspace)}${run.peer ? `; ${describe("peer", run.peer)}` : ""}`;
}
