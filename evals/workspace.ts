/**
 * Our server as an eval target: a fresh workspace per task, seeded and read back byte-exact
 * through the files route (`/w/<ws>/files/<path>`), and command checks through the MCP `exec`
 * tool, which runs in the sandbox of an attached wsd.
 */
import { joinPath } from "../src/workspace-do/paths.ts";
import { callTool, clip, type ToolClient } from "./calls.ts";
import type { CommandResult, CommandRunner } from "./checks.ts";
import type { Snapshot } from "./tree.ts";

export interface WorkspaceServer {
  /** The Worker's origin, such as http://127.0.0.1:8787. */
  url: string;
  token?: string;
}

/** An id for one run; workspaces of the run are named after it, so runs never share one. */
export const newRunId = () => `ev${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;

/** A workspace name (1–63 of letters, digits, `.`, `_`, `-`) unique to this task in this run. */
export const workspaceName = (runId: string, task: string, attempt = ""): string => `${runId}-${attempt}${task}`.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63);

export const mcpUrl = (server: WorkspaceServer, workspace: string) => `${server.url}/w/${workspace}/mcp`;

export const authHeaders = (server: WorkspaceServer): Record<string, string> => (server.token ? { Authorization: `Bearer ${server.token}` } : {});

const filesUrl = (server: WorkspaceServer, workspace: string, path: string) =>
  `${server.url}/w/${workspace}/files${path.split("/").map(encodeURIComponent).join("/")}`;

/** PUTs every file (parents are created by the route), a few at a time. */
export async function seedWorkspace(server: WorkspaceServer, workspace: string, files: Map<string, Uint8Array>): Promise<void> {
  const queue = [...files];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [path, bytes] = next;
      const response = await fetch(filesUrl(server, workspace, path), { method: "PUT", body: bytes, headers: authHeaders(server) });
      if (!response.ok) throw new Error(`seeding ${path} in workspace ${workspace}: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** A POST to one of the workspace's history routes (`checkpoint`, `restore`); its JSON answer. */
export async function historyCall<T = unknown>(
  server: WorkspaceServer,
  workspace: string,
  route: "checkpoint" | "restore",
  body: Record<string, unknown>,
): Promise<T> {
  const response = await fetch(`${server.url}/w/${workspace}/${route}`, { method: "POST", body: JSON.stringify(body), headers: authHeaders(server) });
  if (!response.ok) throw new Error(`${route} in workspace ${workspace}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** The whole tree as the workspace's Durable Object has it: listings and exact bytes from the files route. */
export async function snapshotWorkspace(server: WorkspaceServer, workspace: string): Promise<Snapshot> {
  const tree: Snapshot = new Map();
  const get = async (path: string) => {
    const response = await fetch(filesUrl(server, workspace, path), { headers: authHeaders(server) });
    if (!response.ok) throw new Error(`reading ${path} from workspace ${workspace}: ${response.status} ${await response.text()}`);
    return response;
  };
  const visit = async (dir: string): Promise<void> => {
    const listing = (await (await get(dir)).json()) as { entries: { name: string; type: string }[] };
    for (const { name, type } of listing.entries) {
      const path = joinPath(dir, name);
      if (type === "directory") {
        tree.set(path, { type: "directory" });
        await visit(path);
      } else {
        // A symlink is read through, as a file: tasks seed none.
        tree.set(path, { type: "file", bytes: new Uint8Array(await (await get(path)).arrayBuffer()) });
      }
    }
  };
  await visit("/");
  return tree;
}

/**
 * Command checks through the MCP `exec` tool: `sh -c <command>` in the sandbox where the
 * workspace's wsd runs. A nonzero exit is a result, not a tool error; a tool error (no wsd
 * attached, a timeout) fails the check with its text.
 */
export function execRunner(client: ToolClient, sandbox: "wsd" | "none", timeoutMs = 120_000): CommandRunner {
  return {
    async run(command: string): Promise<CommandResult> {
      const reply = await callTool(client, "exec", { command, timeout_ms: timeoutMs, sandbox });
      if (reply.isError) throw new Error(`exec failed: ${clip(reply.text)}`);
      const result = (reply.structuredContent ?? {}) as Partial<CommandResult>;
      if (result.exitCode === undefined) throw new Error(`exec returned no exitCode: ${clip(reply.text)}`);
      const stderr = result.stderr ?? "";
      // The workspace's own shell lacks programs (node, npm…): such a check needs a sandbox, it did not fail.
      const missing = result.exitCode === 127 ? /^([^:\n]+): not available without a sandbox/m.exec(stderr)?.[1] : undefined;
      return { exitCode: result.exitCode, signal: result.signal ?? null, stdout: result.stdout ?? "", stderr, ...(missing ? { unavailable: missing } : {}) };
    },
  };
}
