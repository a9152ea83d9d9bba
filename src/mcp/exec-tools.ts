import { z } from "zod";
import { EXEC_LIMITS } from "../wire/exec.ts";
import { FsError } from "../workspace-do/errors.ts";
import { defineTool, MAX_PATH_CHARS } from "./define-tool.ts";
import { execResult, formatDuration } from "./exec-result.ts";
import { answer } from "./format.ts";
import { isoTime, OUTPUTS } from "./outputs.ts";
import type { ExecRun, ExecRuns, ToolDefinition, ToolResult, Workspace } from "./workspace.ts";

/**
 * The tools that run commands: `exec` (waiting for the command, or answering at once with a run
 * id when `background` is set), `exec_status` to look at a run or list them, and `exec_kill`.
 * A run is reachable by id from any request, so a client that disconnected comes back to it.
 */

/** Characters of each stream `exec_status` shows of a running command: the end of what it wrote. */
export const STATUS_TAIL_CHARS = 4000;
/** Longest `exec_status` waits for a run to end, and how long `exec_kill` waits for it to go. */
const MAX_STATUS_WAIT_MS = 60_000;
const KILL_WAIT_MS = 10_000;

const runId = z
  .string()
  .regex(/^exec-[0-9a-f]{8}$/, "an exec run id looks like exec-1a2b3c4d")
  .describe("The run's id, as exec answered it (exec-…)");

export const EXEC_TOOLS: readonly ToolDefinition[] = [
  defineTool({
    name: "exec",
    title: "Run a command",
    description:
      'Runs a shell command (sh -c) in the sandbox that has this workspace mounted (a wsd), at the workspace root unless cwd is given, so relative paths mean what they mean to the file tools. Every edit made before the call is visible to the command, and everything it changes is visible to the file tools when it returns. Answers the exit code, stdout and stderr (long output is cut from the middle), the duration and the files it created, changed or deleted. A nonzero exit is reported, not raised as a tool error. For a long command (a build, a test suite) pass background: true and follow it with exec_status. With no sandbox attached (or sandbox: "none") the command runs in the workspace\'s own shell: bash with grep, sed, awk, find, sort, jq and the like over the same files, but no npm, git, compilers or network.',
    input: z.object({
      command: z.string().min(1).max(100_000).describe("The command line, run by sh -c"),
      cwd: z.string().min(1).max(MAX_PATH_CHARS).optional().describe("Workspace directory to run in (default /)"),
      timeout_ms: z
        .number()
        .int()
        .min(1)
        .max(EXEC_LIMITS.maxTimeoutMs)
        .optional()
        .describe(
          `Kill the command's whole process group after this long (default ${EXEC_LIMITS.defaultTimeoutMs / 1000} s, or ${EXEC_LIMITS.maxTimeoutMs / 60_000} min in the background)`,
        ),
      stdin: z.string().max(EXEC_LIMITS.maxStdinChars).optional().describe("Text given to the command on standard input (default none)"),
      env: z
        .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string())
        .optional()
        .describe("Environment variables added for this command"),
      wsd: z.string().min(1).max(256).optional().describe("Which attached wsd runs it, by name (default the most recently attached)"),
      sandbox: z
        .enum(["wsd", "none"])
        .optional()
        .describe(
          'Where it runs: "wsd", a sandbox with the workspace mounted (npm, git, compilers); "none", the workspace\'s own shell (bash with grep, sed, awk, find, jq and other utilities, no programs or network). Default: a wsd when one is attached, else the own shell',
        ),
      background: z
        .boolean()
        .optional()
        .describe("Answer at once with the run's id instead of waiting: exec_status follows it (output so far, then the result) and exec_kill stops it"),
    }),
    output: OUTPUTS.exec,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    checkpointBefore: (_fs, args) => `before exec: ${args.command}`.slice(0, 200),
    run: async (workspace, args, call) => {
      const command = { command: args.command, cwd: args.cwd, stdin: args.stdin, env: args.env, wsd: args.wsd, sandbox: args.sandbox };
      if (!args.background) {
        const { progress, signal } = call;
        return execResult(
          await workspace.exec({
            ...command,
            timeoutMs: args.timeout_ms,
            signal,
            // The first note also turns the answer into a stream, whose keepalives notice a client that went away.
            onStarted: progress && ((id, where) => progress(`${id} started on ${where}; exec_kill {"id": "${id}"} stops it\n`)),
            onOutput: progress && ((_stream, text) => progress(text)),
          }),
        );
      }
      const run = runsOf(workspace).start({ ...command, timeoutMs: args.timeout_ms ?? EXEC_LIMITS.maxTimeoutMs });
      return answer(
        `Started ${run.id} in the background on ${where(run)}. Follow it with exec_status {"id": "${run.id}", "wait_ms": 30000} (the output so far, then the result); stop it with exec_kill {"id": "${run.id}"}.`,
        { id: run.id, wsd: run.wsd, status: "running" },
      );
    },
  }),
  defineTool({
    name: "exec_status",
    title: "Follow a command",
    description:
      "Tells how a command started by exec is doing: while it runs, the end of its output so far; once it has ended, its whole result as exec answers it (exit code, output, changed files). wait_ms waits for it to end first. Without an id, lists the commands running and those ended in the last hour, so a run can be found again after a disconnect.",
    input: z.object({
      id: runId.optional().describe("The run's id, as exec answered it (default: list the runs)"),
      wait_ms: z
        .number()
        .int()
        .min(0)
        .max(MAX_STATUS_WAIT_MS)
        .optional()
        .describe(`Wait up to this long for the run to end before answering (default 0, at most ${MAX_STATUS_WAIT_MS / 1000} s)`),
    }),
    output: OUTPUTS.exec_status,
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    run: async (workspace, args, call) => {
      const runs = runsOf(workspace);
      if (args.id === undefined) return listRuns(runs);
      const run = findRun(runs, args.id);
      if (args.wait_ms) await settledWithin(run, args.wait_ms, call.signal);
      return runStatus(run);
    },
  }),
  defineTool({
    name: "exec_kill",
    title: "Stop a command",
    description:
      "Kills the whole process group of a command started by exec, running in the background or still held by another request, and answers how it ended (what it changed before it was killed stays, and undo reverts it).",
    input: z.object({ id: runId }),
    output: OUTPUTS.exec_status,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    run: async (workspace, args) => {
      const run = findRun(runsOf(workspace), args.id);
      const wasRunning = run.kill();
      await settledWithin(run, KILL_WAIT_MS);
      const status = runStatus(run);
      if (wasRunning) return status;
      return { ...status, content: [{ type: "text", text: `${run.id} had already ended; nothing was killed.\n\n${textOf(status)}` }] };
    },
  }),
];

/** Where a run runs, as a sentence names it. */
const where = (run: Pick<ExecRun, "sandbox" | "wsd">) => (run.sandbox === "none" ? "the workspace's own shell" : `wsd ${run.wsd}`);

const textOf = (result: ToolResult) => result.content.map((part) => (part.type === "text" ? part.text : "")).join("\n");

function runsOf(workspace: Workspace): ExecRuns {
  if (!workspace.runs) throw new FsError("EPERM", "(exec)", "cannot run commands in the background on this server; call exec without background");
  return workspace.runs;
}

function findRun(runs: ExecRuns, id: string): ExecRun {
  const run = runs.get(id);
  if (run) return run;
  throw new FsError(
    "ENOENT",
    `(exec ${id})`,
    "is not a run of this workspace: runs stay an hour after they end and do not outlive a restart of the workspace; exec_status without an id lists them",
  );
}

/** Resolves when `run` has ended or `ms` have passed (or the caller went away), whichever is first. */
async function settledWithin(run: ExecRun, ms: number, signal?: AbortSignal): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const waited = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    onAbort = resolve;
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  await Promise.race([
    run.result.then(
      () => {},
      () => {},
    ),
    waited,
  ]);
  if (timer !== undefined) clearTimeout(timer);
  if (onAbort) signal?.removeEventListener("abort", onAbort);
}

/** One run as exec_status answers it: the end of its output while it runs, exec's own result once it has ended. */
function runStatus(run: ExecRun): ToolResult {
  const { state } = run;
  const facts = { id: run.id, command: run.command, wsd: run.wsd, sandbox: run.sandbox, startedAt: isoTime(run.startedAt) };
  if (state.status === "ended") {
    const result = execResult(state.outcome);
    const ended = { ...facts, status: "ended", durationMs: state.endedAt - run.startedAt, result: result.structuredContent };
    return { content: [{ type: "text", text: `${run.id} has ended: ${run.command}\n\n${textOf(result)}` }], structuredContent: { runs: [ended] } };
  }
  if (state.status === "failed") {
    return answer(`${run.id} could not run to its end: ${state.error.message}`, {
      runs: [{ ...facts, status: "failed", durationMs: state.endedAt - run.startedAt, error: state.error.message }],
    });
  }
  const output = run.output();
  const durationMs = Date.now() - run.startedAt;
  const lines = [`${run.id} is running on ${where(run)} (${formatDuration(durationMs)} so far${state.killed ? ", being killed" : ""}): ${run.command}`];
  for (const stream of ["stdout", "stderr"] as const) {
    const chars = output[`${stream}Chars`];
    const tail = output[stream].slice(-STATUS_TAIL_CHARS);
    if (chars === 0) continue;
    const note = tail.length < chars ? ` (${chars.toLocaleString("en-US")} characters; the last ${tail.length.toLocaleString("en-US")} shown)` : "";
    lines.push(`${stream} so far${note}:\n${tail.replace(/\n$/, "")}`);
  }
  if (output.stdoutChars + output.stderrChars === 0) lines.push("(no output yet)");
  lines.push(`Check again with exec_status {"id": "${run.id}", "wait_ms": 30000}; stop it with exec_kill {"id": "${run.id}"}.`);
  return answer(lines.join("\n\n"), {
    runs: [
      {
        ...facts,
        status: "running",
        killed: state.killed,
        durationMs,
        stdoutTail: output.stdout.slice(-STATUS_TAIL_CHARS),
        stderrTail: output.stderr.slice(-STATUS_TAIL_CHARS),
        stdoutChars: output.stdoutChars,
        stderrChars: output.stderrChars,
      },
    ],
  });
}

function listRuns(runs: ExecRuns): ToolResult {
  const listed = runs.list().map((run) => {
    const { state } = run;
    const facts = { id: run.id, command: run.command, wsd: run.wsd, sandbox: run.sandbox, startedAt: isoTime(run.startedAt), status: state.status };
    if (state.status === "running") return { ...facts, durationMs: Date.now() - run.startedAt };
    const durationMs = state.endedAt - run.startedAt;
    return state.status === "ended"
      ? { ...facts, durationMs, exitCode: state.outcome.exitCode, signal: state.outcome.signal }
      : { ...facts, durationMs, error: state.error.message };
  });
  if (listed.length === 0) return answer("No commands are running, and none ended in the last hour.", { runs: [] });
  const lines = listed.map((run) => {
    const how = run.status === "running" ? `running for ${formatDuration(run.durationMs)}` : run.status === "failed" ? "failed" : endedHow(run);
    return `${run.id} · ${how} · ${where(run)} · ${run.command}`;
  });
  return answer(`Commands started by exec, running first:\n${lines.join("\n")}`, { runs: listed });
}

const endedHow = (run: { exitCode?: number | null; signal?: string | null; durationMs: number }) =>
  `${run.signal ? `killed by ${run.signal}` : `exit code ${run.exitCode}`} after ${formatDuration(run.durationMs)}`;
