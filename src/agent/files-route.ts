import type { Access } from "../mcp/workspace.ts";
import type { WorkspaceFs } from "../workspace-do/engine.ts";
import { joinPath } from "../workspace-do/paths.ts";
import { createSkipFilter } from "../workspace-do/search.ts";
import { errorResponse } from "./http.ts";

/**
 * `/w/:workspace/files/<path>`: raw bytes for curl and uploads.
 * - GET a file: its bytes, streamed; GET a directory: `{ path, entries: [{ name, type, size, mtime, ignored }] }`
 *   (`ignored`: what find and grep leave out, `.git/` and what `.gitignore` files ignore).
 * - PUT: replaces the file with the body (streamed, parents created); answers its stats.
 * - DELETE: removes a file or empty directory; `?recursive=1` removes a tree.
 */
export async function handleFiles(fs: WorkspaceFs, request: Request, encodedPath: string, access: Access = "full"): Promise<Response> {
  const path = decodePath(encodedPath);
  if (path === undefined) {
    return errorResponse(400, "EINVAL", `${encodedPath} is not a valid path: its percent-encoding does not decode to UTF-8`);
  }
  if (access === "read" && request.method !== "GET" && request.method !== "HEAD") {
    return errorResponse(403, "EACCES", `${request.method} ${path} is refused: this token may only read`);
  }
  switch (request.method) {
    case "GET":
    case "HEAD": {
      const stats = fs.stat(path);
      if (stats.type === "directory") {
        const dir = fs.realpath(path);
        // What find and grep leave out (.git/, what .gitignore files ignore): the web view dims it.
        const skipped = createSkipFilter(fs, "/", { gitignore: true });
        const entries = fs.readdir(dir, { withStats: true }).map(({ name, type, stats }) => ({
          name,
          type,
          size: stats.size,
          mtime: new Date(stats.mtimeMs).toISOString(),
          ignored: skipped({ path: joinPath(dir, name), type }),
        }));
        return Response.json({ path: dir, entries });
      }
      const headers = {
        "Content-Type": "application/octet-stream",
        "Content-Length": String(stats.size),
        "Last-Modified": new Date(stats.mtimeMs).toUTCString(),
      };
      if (request.method === "HEAD") return new Response(null, { headers });
      // A fixed-length stream keeps Content-Length on a streamed body.
      const { readable, writable } = new FixedLengthStream(stats.size);
      void fs
        .readFileStream(path)
        .pipeTo(writable)
        .catch((error) => console.error(`files GET ${path}:`, error));
      return new Response(readable, { headers });
    }
    case "PUT": {
      const existed = fs.exists(path);
      await fs.writeFileStream(path, request.body ?? new Blob([]).stream(), { parents: true });
      return Response.json(fs.stat(path), { status: existed ? 200 : 201 });
    }
    case "DELETE": {
      fs.rm(path, { recursive: new URL(request.url).searchParams.get("recursive") === "1" });
      return new Response(null, { status: 204 });
    }
    default:
      return errorResponse(405, "EINVAL", `${request.method} is not supported on files; use GET, PUT or DELETE`);
  }
}

/** The workspace path a URL's path names (`/` when empty); undefined when it is not percent-encoded UTF-8. */
function decodePath(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded) || "/";
  } catch {
    return undefined;
  }
}
