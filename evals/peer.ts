/**
 * The official MCP filesystem server (`@modelcontextprotocol/server-filesystem`) as a peer
 * target: spawned over stdio on a temp directory holding the task's files, and driven with our
 * reference solutions translated call by call into its tools (or a task's own `peer` steps).
 *
 * The translation keeps what a call does to the tree; options that only shape what a read-only
 * call shows (a line range, a depth, a page size) are dropped. Where the peer has no tool that
 * does what a call does, the task is reported "not expressible" with the reason.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport, type StdioServerParameters } from "@modelcontextprotocol/sdk/client/stdio.js";
import { parentOf } from "../src/workspace-do/paths.ts";
import type { ScriptedStep } from "./reference.ts";
import type { Task } from "./tasks.ts";

export const PEER_PACKAGE = "@modelcontextprotocol/server-filesystem";

const packageJson = createRequire(import.meta.url).resolve(`${PEER_PACKAGE}/package.json`);
export const PEER_VERSION = (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string }).version;

/** The peer serving `root` as its one allowed directory. */
export const peerServer = (root: string): StdioServerParameters => ({
  command: process.execPath,
  args: [join(dirname(packageJson), "dist/index.js"), root],
  stderr: "pipe",
});

/** An MCP SDK client connected to a fresh peer process. */
export async function startPeer(root: string): Promise<Client> {
  const transport = new StdioClientTransport(peerServer(root));
  let stderr = "";
  transport.stderr?.on("data", (data: Buffer) => (stderr += data.toString()));
  const client = new Client({ name: "workspace-evals", version: "1.0.0" });
  try {
    await client.connect(transport);
  } catch (error) {
    throw new Error(`${PEER_PACKAGE} did not start: ${error instanceof Error ? error.message : String(error)}\n${stderr}`);
  }
  return client;
}

export class NotExpressible extends Error {}

/** The task's solution for the peer serving `root`, with paths under `root`; throws {@link NotExpressible}. */
export function peerSteps(task: Task, root: string): ScriptedStep[] {
  const steps: ScriptedStep[] = task.peer?.steps ?? task.reference.flatMap(translate);
  return steps.map((step) => ({ ...step, args: rooted(step.args, root) }));
}

const PATH_ARGS = ["path", "source", "destination"];

function rooted(args: Record<string, unknown>, root: string): Record<string, unknown> {
  const under = (path: string) => (path === "/" ? root : join(root, path));
  const out = { ...args };
  for (const key of PATH_ARGS) if (typeof out[key] === "string") out[key] = under(out[key]);
  if (Array.isArray(out.paths)) out.paths = out.paths.map((path) => under(String(path)));
  return out;
}

/** The arguments of our tools that the translation reads (validated by our server, not here). */
interface OurArgs {
  path: string;
  paths: string[];
  content: string;
  edits: { old_text: string; new_text: string; replace_all?: boolean }[];
  dry_run?: boolean;
  pattern: string;
  exclude?: string[];
  from: string;
  to: string;
  overwrite?: boolean;
}

/** One of our calls as the peer's calls (workspace paths still). */
function translate(step: ScriptedStep): ScriptedStep[] {
  const a = step.args as unknown as OurArgs;
  const call = (tool: string, args: Record<string, unknown>): ScriptedStep => ({ tool, args, expect: step.expect });
  const withParent = (path: string, then: ScriptedStep): ScriptedStep[] =>
    parentOf(path) === "/" || step.expect?.error ? [then] : [call("create_directory", { path: parentOf(path) }), then];
  switch (step.tool) {
    case "read":
      return [call("read_text_file", { path: a.path })];
    case "read_many":
      return [call("read_multiple_files", { paths: a.paths })];
    case "write":
      return withParent(a.path, call("write_file", { path: a.path, content: a.content }));
    case "edit":
      if (a.edits.some((edit) => edit.replace_all)) {
        throw new NotExpressible("edit_file has no replace_all (each edit replaces the first match)");
      }
      return [
        call("edit_file", {
          path: a.path,
          edits: a.edits.map((edit) => ({ oldText: edit.old_text, newText: edit.new_text })),
          dryRun: a.dry_run ?? false,
        }),
      ];
    case "ls":
      return [call("list_directory", { path: a.path ?? "/" })];
    case "tree":
      return [call("directory_tree", { path: a.path ?? "/", excludePatterns: a.exclude ?? [] })];
    case "find":
      return [call("search_files", { path: a.path ?? "/", pattern: a.pattern, excludePatterns: a.exclude ?? [] })];
    case "mkdir":
      return [call("create_directory", { path: a.path })];
    case "move":
      if (a.overwrite) throw new NotExpressible("move_file never replaces an existing destination");
      return withParent(a.to, call("move_file", { source: a.from, destination: a.to }));
    case "stat":
      return [call("get_file_info", { path: a.path })];
    case "append":
      throw new NotExpressible("no append tool (write_file replaces a whole file)");
    case "grep":
      throw new NotExpressible("no content search (search_files matches names only)");
    case "copy":
      throw new NotExpressible("no copy tool (and write_file writes text, so binary files cannot be recreated)");
    case "delete":
      throw new NotExpressible("no delete tool");
    default:
      throw new NotExpressible(`no counterpart for ${step.tool}`);
  }
}
