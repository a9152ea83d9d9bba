import type { ToolAnnotations } from "@modelcontextprotocol/server";
import type { z } from "zod";
import type { ExecRequest, ExecResult } from "../wire/exec.ts";
import type { Point, WorkspaceFs } from "../workspace-do/engine.ts";

/**
 * The contract the workspace's tools run against: what a host gives them (`Workspace`, a
 * `ToolCall`), what a tool is (`ToolDefinition`) and what it answers (`ToolResult`). The tools
 * own it; the Durable Object (src/agent) implements it.
 */

/**
 * What a caller may do: "read" runs the tools that only read, "write" every tool but those that
 * reach outside the workspace (exec), "full" all of them.
 */
export type Access = "read" | "write" | "full";

/** What the tools work on: the workspace's tree, and the sandboxes (wsd) attached to it. */
export interface Workspace {
  /** The workspace's name, as its address has it (absent: the host does not name it). */
  name?: string;
  fs: WorkspaceFs;
  /** What this caller may do (default "full"); a tool beyond it answers EACCES. */
  access?: Access;
  /** Runs a command in a sandbox that has the workspace mounted; rejects with an FsError when none can. */
  exec(args: ExecArgs): Promise<ExecOutcome>;
  /**
   * Every command exec started, running or lately ended, by id: how a command runs in the
   * background and is looked at or killed later (absent: the host runs none in the background).
   */
  runs?: ExecRuns;
  /** Copies the tree at a point into another, empty workspace (absent: the host cannot). */
  fork?(to: string, at: Point): Promise<{ rev: number; paths: number; chunksSent: number; bytesSent: number }>;
}

/** The caller's side of one tool call: cancellation and progress, when the client asked for them. */
export interface ToolCall {
  signal?: AbortSignal;
  /** A progress note (exec streams its output here). */
  progress?: (message: string) => void;
}

/** One tool, as data: its name, schema and annotations, and a handler over the workspace. */
export interface ToolDefinition<Input extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: Input;
  /** The structured content its results carry (MCP `outputSchema`); see outputs.ts. */
  output: z.ZodObject;
  annotations: ToolAnnotations;
  /** The tool's `_meta` as listed (an MCP App's tool names its view there). */
  meta?: Record<string, unknown>;
  /**
   * With history: the label of a checkpoint to make before the call, when the call would replace
   * or delete something (undefined: none), so the state before it stays restorable for good.
   */
  checkpointBefore?(fs: WorkspaceFs, args: z.infer<Input>): string | undefined;
  run(workspace: Workspace, args: z.infer<Input>, call: ToolCall): ToolResult | Promise<ToolResult>;
}

/** A tool's answer, as MCP's `CallToolResult` has it: text and image parts, flagged when it failed. */
export interface ToolResult {
  [key: string]: unknown;
  content: ({ type: "text"; text: string } | { type: "image"; data: string; mimeType: string })[];
  isError?: boolean;
}

/**
 * A command for {@link Workspace.exec}: the wire's request (src/wire/exec.ts) without what the
 * host fills in (its `id` and the revision `rev`), plus the choice of wsd and the caller's side.
 */
export interface ExecArgs extends Omit<ExecRequest, "id" | "rev"> {
  /** A shell string, run by `sh -c` (the tool never sends an argv). */
  command: string;
  /** Which wsd, by its name; default the one attached most recently. */
  wsd?: string;
  /**
   * Where it runs: "wsd", a sandbox that has the workspace mounted; "none", the workspace's own
   * shell (just-bash in the object). Default: a wsd when one that runs commands is attached, else "none".
   */
  sandbox?: "wsd" | "none";
  /** Aborting kills the command's process group. */
  signal?: AbortSignal;
  /** The command passed the barrier and starts now, as run `id`, `where` ("wsd box", "the workspace's own shell"). */
  onStarted?: (id: string, where: string) => void;
  /** Output as it comes (the result repeats it, capped). */
  onOutput?: (stream: "stdout" | "stderr", text: string) => void;
}

/** How a command ended (the wire's result), which wsd ran it, and what it did to the tree. */
export interface ExecOutcome extends ExecResult {
  /** This run's id: what it changed is recorded under it (`undo` reverts it). */
  id: string;
  /** The wsd that ran it, or the workspace's own shell (`sandbox` "none"). */
  wsd: string;
  sandbox: "wsd" | "none";
  changes: PathChange[];
  /** Paths the command changed that had also changed in the workspace meanwhile (see push). */
  conflicts: { path: string; keptAs?: string }[];
}

/** What a command did to the tree, per path, from before it started to after it ended. */
export interface PathChange {
  path: string;
  change: "created" | "modified" | "deleted";
}

/** The runs of exec a host keeps by id, so a client can start a command and come back to it. */
export interface ExecRuns {
  /** Starts a command and answers at once; throws an FsError when no sandbox can run it. */
  start(args: ExecArgs): ExecRun;
  get(id: string): ExecRun | undefined;
  /** The runs kept: running ones first, then the most recently ended. */
  list(): ExecRun[];
}

/** One command started by exec. */
export interface ExecRun {
  readonly id: string;
  readonly command: string;
  /** The wsd running it, or the workspace's own shell (`sandbox` "none"). */
  readonly wsd: string;
  readonly sandbox: "wsd" | "none";
  readonly startedAt: number;
  readonly state: ExecRunState;
  /** How it ended; rejects with an FsError when it could not run to its end (its wsd went away, say). */
  readonly result: Promise<ExecOutcome>;
  /** The output so far: the last characters of each stream, and how many it has written. */
  output(): { stdout: string; stderr: string; stdoutChars: number; stderrChars: number };
  /** Kills the command's process group; false when it had already ended. */
  kill(): boolean;
}

export type ExecRunState =
  | { status: "running"; killed: boolean }
  | { status: "ended"; endedAt: number; outcome: ExecOutcome }
  | { status: "failed"; endedAt: number; error: Error };
