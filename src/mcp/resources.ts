import { type McpServer, ResourceTemplate } from "@modelcontextprotocol/server";
import type { WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError } from "../workspace-do/errors.ts";
import { looksBinary } from "../workspace-do/lines.ts";
import { baseName, comparePaths, joinPath, normalizePath, parentOf } from "../workspace-do/paths.ts";
import { createSkipFilter } from "../workspace-do/search.ts";
import { toBase64 } from "./render.ts";
import { RESOURCE_SCHEME, resourceUri } from "./resource-uri.ts";

/**
 * Every file of the workspace as an MCP resource, `workspace:///<path>` (one template, so a
 * client can @-mention any file): listed in pages in path order (skipping `.git/` and what
 * `.gitignore` ignores, as `find` does), read as text or as a blob with its MIME type, and
 * completed by path for the template's argument.
 */

const TEMPLATE = "workspace:///{+path}";
const PAGE = 500;
/** Largest file a resource read returns (a bigger one: use `read` with offset and limit). */
const MAX_RESOURCE_BYTES = 5 * 1024 * 1024;
const COMPLETIONS = 100;

const MIME: Record<string, string> = {
  ts: "text/x-typescript",
  tsx: "text/x-typescript",
  js: "text/javascript",
  mjs: "text/javascript",
  cjs: "text/javascript",
  json: "application/json",
  md: "text/markdown",
  html: "text/html",
  css: "text/css",
  py: "text/x-python",
  rs: "text/x-rust",
  go: "text/x-go",
  sh: "text/x-shellscript",
  yaml: "application/yaml",
  yml: "application/yaml",
  toml: "application/toml",
  xml: "application/xml",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  pdf: "application/pdf",
  zip: "application/zip",
  wasm: "application/wasm",
};

/** The MIME type a file's name suggests; text/plain or application/octet-stream by its bytes otherwise. */
export function mimeTypeOf(path: string, binary: boolean): string {
  const name = baseName(path);
  const extension = name.includes(".") ? name.slice(name.lastIndexOf(".") + 1).toLowerCase() : "";
  return MIME[extension] ?? (binary ? "application/octet-stream" : "text/plain");
}

/** The workspace path a resource URI names. */
export function pathOfUri(uri: string): string {
  const url = new URL(uri);
  if (url.protocol !== RESOURCE_SCHEME || url.host !== "")
    throw new FsError("EINVAL", uri, "is not a workspace resource; they look like workspace:///src/app.ts");
  return normalizePath(url.pathname.split("/").map(decodeURIComponent).join("/"));
}

export function registerWorkspaceResources(server: McpServer, fs: WorkspaceFs): void {
  server.registerResource(
    "file",
    new ResourceTemplate(TEMPLATE, {
      list: undefined,
      complete: { path: (value) => completePath(fs, value) },
    }),
    { title: "Workspace file", description: "A file of the workspace, by its path: workspace:///src/app.ts" },
    async (uri) => {
      const path = pathOfUri(uri.href);
      const stats = fs.stat(path);
      if (stats.type !== "file") throw new FsError("EISDIR", path, `is a ${stats.type}; only files are resources`);
      if (stats.size > MAX_RESOURCE_BYTES)
        throw new FsError(
          "EFBIG",
          path,
          `has ${stats.size} bytes, over the ${MAX_RESOURCE_BYTES} a resource read returns; use the read tool with offset and limit`,
        );
      const bytes = fs.readFile(path);
      const binary = looksBinary(bytes) || !isUtf8(bytes);
      const mimeType = mimeTypeOf(path, binary);
      return {
        contents: [binary ? { uri: uri.href, mimeType, blob: toBase64(bytes) } : { uri: uri.href, mimeType, text: new TextDecoder().decode(bytes) }],
      };
    },
  );
  // Changes reach clients that listen (subscriptions/listen): see WorkspaceAgent's #tellSubscribers.
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  // The SDK's list concatenates templates' lists with no paging: this one pages by path.
  server.server.removeRequestHandler("resources/list");
  server.server.setRequestHandler("resources/list", async (request) => listFiles(fs, request.params?.cursor));
}

/** One page of files in path order after the cursor (the last path of the previous page). */
export function listFiles(fs: WorkspaceFs, cursor?: string) {
  const skip = createSkipFilter(fs, "/", { gitignore: true });
  const resources: { uri: string; name: string; mimeType: string; size: number }[] = [];
  let last: string | undefined;
  for (const entry of fs.walk("/", { enter: (entry) => !skip(entry), after: cursor === undefined ? undefined : pathFromCursor(cursor) })) {
    if (entry.type !== "file" || skip(entry)) continue;
    if (resources.length === PAGE) return { resources, nextCursor: last };
    resources.push({ uri: resourceUri(entry.path), name: entry.path, mimeType: mimeTypeOf(entry.path, false), size: fs.lstat(entry.path).size });
    last = entry.path;
  }
  return { resources };
}

function pathFromCursor(cursor: string): string {
  if (!cursor.startsWith("/")) throw new FsError("EINVAL", "(cursor)", "is not one this server returned");
  return normalizePath(cursor);
}

/** Paths below the typed value's directory whose names start with what follows its last `/`, directories with a trailing `/`. */
function completePath(fs: WorkspaceFs, value: string): string[] {
  const typed = `/${value.replace(/^\/+/, "")}`;
  const dir = typed.endsWith("/") ? normalizePath(typed) : parentOf(normalizePath(typed));
  const prefix = typed.endsWith("/") ? "" : baseName(typed);
  if (!fs.exists(dir) || fs.stat(dir).type !== "directory") return [];
  return fs
    .readdir(dir)
    .filter((entry) => entry.name.startsWith(prefix))
    .map((entry) => joinPath(dir, entry.name).slice(1) + (entry.type === "directory" ? "/" : ""))
    .sort((a, b) => comparePaths(`/${a}`, `/${b}`))
    .slice(0, COMPLETIONS);
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}
