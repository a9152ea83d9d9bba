import type { WorkspaceAgent } from "workspace-fs/server";

interface Env {
  /** The workspaces themselves, called by Durable Object RPC. */
  WORKSPACE: DurableObjectNamespace<WorkspaceAgent>;
  /** The workspace server's own fetch handler (MCP, files, wsd), for everything that is not a job. */
  WORKSPACE_SERVER: Fetcher;
}

/**
 * A job runner that uses workspaces by Durable Object RPC, with no MCP or HTTP in between:
 * - `POST /jobs/<workspace>` with `{ "files": { "/task.md": "..." } }` seeds the workspace (every
 *   file or none) and answers what its root holds;
 * - an agent then works in it, through MCP at /w/<workspace>/mcp or a wsd mount;
 * - `GET /jobs/<workspace>/results` reads back every file under /out.
 * Every other request is passed to the workspace server, so one address serves both.
 */
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const match = /^\/jobs\/([^/]+)(\/results)?$/.exec(new URL(request.url).pathname);
    if (!match) return env.WORKSPACE_SERVER.fetch(request);
    const workspace = env.WORKSPACE.getByName(match[1]!);
    try {
      if (request.method === "POST" && !match[2]) {
        const files = (await request.json<{ files?: Record<string, string> }>().catch(() => undefined))?.files;
        if (!files) return Response.json({ error: "EINVAL", message: 'send JSON { "files": { "/path": "content" } }' }, { status: 400 });
        await workspace.writeFiles(files);
        const root = await workspace.list("/");
        return Response.json({ seeded: Object.keys(files), root: root.map((entry) => entry.name) }, { status: 201 });
      }
      if (request.method === "GET" && match[2]) return Response.json({ files: await readTree(workspace, "/out") });
      return Response.json({ error: "EINVAL", message: `${request.method} ${match[0]} is not a job route` }, { status: 405 });
    } catch (error) {
      return errorResponse(error);
    }
  },
} satisfies ExportedHandler<Env>;

/** Every file below `dir` as text, keyed by path. */
async function readTree(workspace: DurableObjectStub<WorkspaceAgent>, dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await workspace.list(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.type === "directory") Object.assign(files, await readTree(workspace, path));
    else if (entry.type === "file") files[path] = await workspace.readText(path);
  }
  return files;
}

/**
 * An RPC error keeps its message, `ENOENT: /out does not exist`, but Cloudflare documents that
 * its own properties (`code`, `path`) may not cross, so the errno code is read from the message.
 * Anything else is a bug and stays a 500.
 */
function errorResponse(error: unknown): Response {
  const message = error instanceof Error ? error.message : String(error);
  const code = /^(E[A-Z]+): /.exec(message)?.[1];
  if (!code) throw error;
  return Response.json({ error: code, message }, { status: code === "ENOENT" ? 404 : 400 });
}
