import type { WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError } from "../workspace-do/errors.ts";
import { find, grep } from "../workspace-do/search.ts";
import type { AttachedWsd } from "./attached-wsd.ts";

/** The routes {@link handleBrowse} answers, after `/w/<workspace>`. */
export const BROWSE_ROUTES = ["/search", "/sandboxes"];

const RESULTS = 200;

/**
 * What the web view reads besides files, history and the change feed, as JSON (GET only):
 * - `/search?find=<glob>`: paths matching a glob (as the find tool, `.gitignore`d paths left out);
 * - `/search?grep=<text>`: lines holding the text (as the grep tool with `literal`);
 * - `/sandboxes`: the attached wsd sessions (name, mountpoint, exec, since when, commands running).
 */
export function handleBrowse(fs: WorkspaceFs, request: Request, route: string, sandboxes: () => AttachedWsd[]): Response {
  if (request.method !== "GET") throw new FsError("EINVAL", route, `answers GET only, not ${request.method}`);
  const url = new URL(request.url);
  if (route === "/sandboxes") {
    return Response.json({
      rev: fs.rev,
      sandboxes: sandboxes().map(({ info, attachedAt, watches }) => ({ ...info, attachedAt, running: [...watches].map((watch) => watch.source.detail ?? "") })),
    });
  }
  const glob = url.searchParams.get("find");
  const text = url.searchParams.get("grep");
  if (glob) return Response.json(find(fs, { pattern: glob, limit: RESULTS, gitignore: true }));
  if (text) {
    const result = grep(fs, { pattern: text, literal: true, ignoreCase: url.searchParams.get("case") !== "1", mode: "lines", limit: RESULTS, gitignore: true });
    return Response.json({ lines: result.lines, filesSearched: result.filesSearched, nextCursor: result.nextCursor });
  }
  throw new FsError("EINVAL", "(search)", "needs find=<glob> or grep=<text>");
}
