/**
 * Running one task on one target, start to end: seed a fresh tree, solve (the reference calls or
 * a model), read the final tree (for our server through MCP and, with a mount, through wsd too),
 * judge the checks, and sum it up as one {@link TaskResult}.
 */
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMCPClient } from "@ai-sdk/mcp";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { ToolSet } from "ai";
import { connectMcp } from "../harness/dev-server.ts";
import type { SolveRecord, ToolClient } from "./calls.ts";
import { type CheckOutcome, type CommandRunner, evaluateChecks } from "./checks.ts";
import { languageModel, type ModelSettings, runModel } from "./model.ts";
import { mountDisagreement, mountWorkspace } from "./mount.ts";
import { NotExpressible, peerServer, peerSteps, startPeer } from "./peer.ts";
import { runSteps, type ScriptedStep } from "./reference.ts";
import { localShell } from "./shell.ts";
import { initialFiles, type Task } from "./tasks.ts";
import { type Snapshot, snapshotDirectory, snapshotOfFiles, treePatch, writeSnapshot } from "./tree.ts";
import { authHeaders, execRunner, historyCall, mcpUrl, seedWorkspace, snapshotWorkspace, type WorkspaceServer, workspaceName } from "./workspace.ts";

type Target = "workspace" | "peer";
export type Status = "pass" | "fail" | "skipped" | "not expressible";

export interface TaskResult {
  task: string;
  kind: string;
  target: Target;
  status: Status;
  /** Why it failed, was skipped or is not expressible: the first such reason. */
  reason?: string;
  checks: CheckOutcome[];
  toolCalls: number;
  toolErrors: string[];
  /** Time spent solving (the tool calls or the model's loop), not seeding or checking. */
  wallMs: number;
  tokens?: { input: number; output: number };
  /** Our server: whether the final tree was also read through a wsd mount. */
  mounted?: boolean;
  /** What the run did to the tree (our server): unified diffs of the text files it changed; see treePatch. */
  treeDiff?: string;
  /** Our server: how the task's starting tree was made (seeded through the files route, or restored from the start checkpoint) and how long it took. */
  prepared?: { by: "seed" | "restore"; ms: number };
}

export interface RunOptions {
  mode: "reference" | "model";
  /** Model mode: which model. */
  model?: ModelSettings;
  runId: string;
  /** Where to mount each task's workspace with wsd (and run command checks through exec); no mount without it. */
  mountRoot?: string;
  /**
   * Attempts per task on our server (default 1): the first seeds the workspace and checkpoints
   * it; each further attempt restores that checkpoint instead of seeding again.
   */
  attempts?: number;
}

/** A client of the target's MCP server, whichever SDK made it. */
type Connection = ToolClient & { close(): Promise<void>; listTools(): Promise<{ tools: { name: string }[] }> };

const NO_EXEC = "the server has no exec tool";

const hasTool = async (client: Connection, name: string) => (await client.listTools()).tools.some((tool) => tool.name === name);

export interface TaskRun {
  name: string;
  kind: string;
  /** The first attempt on our server. */
  workspace: TaskResult;
  /** With `attempts` > 1: every attempt on our server, the first included. */
  attempts?: TaskResult[];
  peer?: TaskResult;
}

/**
 * Each task on our server and, with `peer`, on the peer. One at a time by default, so that wall
 * times are comparable; `concurrency` runs that many tasks at once (a test that needs no times).
 */
export async function runTasks(
  tasks: Task[],
  server: WorkspaceServer,
  options: RunOptions & { peer?: boolean; concurrency?: number },
  onDone?: (run: TaskRun) => void,
): Promise<TaskRun[]> {
  const runs: TaskRun[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < tasks.length; i = next++) {
      const task = tasks[i]!;
      const start = { checkpoint: undefined as number | undefined };
      const attempts = [await runOnWorkspace(server, task, options, start)];
      while (attempts.length < (options.attempts ?? 1)) attempts.push(await runOnWorkspace(server, task, options, start));
      const run: TaskRun = { name: task.name, kind: task.kind, workspace: attempts[0]!, ...(attempts.length > 1 ? { attempts } : {}) };
      if (options.peer) run.peer = await runOnPeer(task, options);
      runs[i] = run;
      onDone?.(run);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));
  return runs;
}

/**
 * One task on our server, in its own workspace: seeded fresh and checkpointed (the checkpoint's
 * id goes into `start`), or, when `start` has one, reset to it by a restore (a further attempt).
 */
export async function runOnWorkspace(server: WorkspaceServer, task: Task, options: RunOptions, start: { checkpoint?: number } = {}): Promise<TaskResult> {
  const workspace = workspaceName(options.runId, task.name);
  const files = initialFiles(task);
  const began = performance.now();
  const by = start.checkpoint === undefined ? "seed" : "restore";
  if (start.checkpoint === undefined) {
    await seedWorkspace(server, workspace, files);
    start.checkpoint = (await historyCall<{ id: number }>(server, workspace, "checkpoint", { label: `eval start: ${task.name}` })).id;
  } else await historyCall(server, workspace, "restore", { to: `checkpoint:${start.checkpoint}` });
  const prepared = { by, ms: performance.now() - began } as const;
  const mount = options.mountRoot ? await mountWorkspace(server, workspace, options.mountRoot) : undefined;
  let client: Connection | undefined;
  try {
    let solve: () => Promise<SolveRecord>;
    if (options.mode === "reference") {
      const mcp = (client = await connectMcp(server.url, workspace, server.token));
      solve = () => runSteps(mcp, task.reference, { matchText: true });
    } else {
      const mcp = (client = await createMCPClient({ transport: { type: "http", url: mcpUrl(server, workspace), headers: authHeaders(server) } }));
      const tools = await mcp.tools();
      solve = () => solveWithModel(task, tools, options.model!, task.reference, WORKSPACE_PATHS);
    }
    const { record, wallMs } = await timed(solve);
    const tree = await snapshotWorkspace(server, workspace);
    const disagreement = mount && (await mountDisagreement(tree, mount));
    // Without a mount, commands run in the workspace's own shell; those that need a program are skipped.
    const commands = (await hasTool(client, "exec")) ? execRunner(client, mount ? "wsd" : "none") : { skip: NO_EXEC };
    const checks = await judge(task, files, tree, record, commands);
    return {
      ...summarize(task, "workspace", record, checks, wallMs, disagreement),
      mounted: mount !== undefined,
      prepared,
      treeDiff: treePatch(snapshotOfFiles(files), tree),
    };
  } finally {
    await client?.close();
    await mount?.stop();
  }
}

/** One task on the official filesystem server, on a temp directory of its own. */
export async function runOnPeer(task: Task, options: RunOptions): Promise<TaskResult> {
  const root = await realpath(await mkdtemp(join(tmpdir(), `eval-peer-${task.name}-`)));
  let client: Connection | undefined;
  try {
    let steps: ScriptedStep[] = [];
    try {
      steps = peerSteps(task, root);
    } catch (error) {
      if (!(error instanceof NotExpressible)) throw error;
      // Only a script needs the translation; a real model finds its own way with the peer's tools.
      if (options.mode === "reference" || options.model?.provider === "scripted") return notExpressible(task, error.message);
    }
    const files = initialFiles(task);
    await writeSnapshot(snapshotOfFiles(files), root);
    let solve: () => Promise<SolveRecord>;
    if (options.mode === "reference") {
      const peer = (client = await startPeer(root));
      solve = () => runSteps(peer, steps, { matchText: false });
    } else {
      const mcp = (client = await createMCPClient({ transport: new StdioClientTransport(peerServer(root)) }));
      const tools = await mcp.tools();
      solve = () => solveWithModel(task, tools, options.model!, steps, peerPaths(root));
    }
    const { record, wallMs } = await timed(solve);
    const tree = await snapshotDirectory(root);
    const checks = await judge(task, files, tree, record, localShell(root));
    return summarize(task, "peer", record, checks, wallMs);
  } finally {
    await client?.close();
    await rm(root, { recursive: true, force: true });
  }
}

const WORKSPACE_PATHS = "Paths are workspace paths, such as /src/app.ts.";
const peerPaths = (root: string) => `The workspace is the directory ${root}: a path such as /src/app.ts in the task means ${root}/src/app.ts.`;

function solveWithModel(task: Task, tools: ToolSet, settings: ModelSettings, script: ScriptedStep[], paths: string): Promise<SolveRecord> {
  return runModel({
    model: languageModel(settings, script),
    tools,
    instructions:
      `You edit files in a workspace through the tools you are given. ${paths} Do the task, then answer with one line saying what you did. ` +
      "If the task cannot be done as asked, change nothing and say why.",
    instruction: task.instruction,
    maxSteps: settings.maxSteps,
  });
}

/** Times a solve (connecting is not counted); a solver that throws (a model API error, a dropped connection) is a failed solve, not a crash. */
async function timed(solve: () => Promise<SolveRecord>): Promise<{ record: SolveRecord; wallMs: number }> {
  const started = performance.now();
  let record: SolveRecord;
  try {
    record = await solve();
  } catch (error) {
    record = { toolCalls: 0, toolErrors: [], failure: `the solver failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { record, wallMs: Math.round(performance.now() - started) };
}

const judge = (task: Task, files: Map<string, Uint8Array>, tree: Snapshot, record: SolveRecord, commands: CommandRunner) =>
  evaluateChecks(task.checks, { tree, initial: snapshotOfFiles(files), toolErrors: record.toolErrors, commands });

/** The result: failed if the solver or a check failed or the mount disagreed; else skipped if a check was; else passed. */
function summarize(task: Task, target: Target, record: SolveRecord, checks: CheckOutcome[], wallMs: number, disagreement?: string): TaskResult {
  const failed = checks.find((check) => check.status === "fail");
  const skipped = checks.filter((check) => check.status === "skipped");
  const failure = record.failure ?? disagreement ?? (failed && `${failed.check}: ${failed.why}`);
  const status: Status = failure ? "fail" : skipped.length ? "skipped" : "pass";
  const reason = failure ?? (skipped.length ? `${skipped[0]!.why}, for ${plural(skipped.length, "command check")}` : undefined);
  return {
    task: task.name,
    kind: task.kind,
    target,
    status,
    ...(reason ? { reason } : {}),
    checks,
    toolCalls: record.toolCalls,
    toolErrors: record.toolErrors,
    wallMs,
    ...(record.tokens ? { tokens: record.tokens } : {}),
  };
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;

const notExpressible = (task: Task, reason: string): TaskResult => ({
  task: task.name,
  kind: task.kind,
  target: "peer",
  status: "not expressible",
  reason,
  checks: [],
  toolCalls: 0,
  toolErrors: [],
  wallMs: 0,
});
