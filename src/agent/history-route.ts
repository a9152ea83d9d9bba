import type { Access } from "../mcp/workspace.ts";
import type { Point, WorkspaceFs, WorkspaceHistory } from "../workspace-do/engine.ts";
import { FsError } from "../workspace-do/errors.ts";
import { parsePoint } from "../workspace-do/history.ts";
import { changeStream, feedEntry, type Subscribe } from "./change-feed.ts";
import { errorResponse } from "./http.ts";

/** The routes {@link handleHistory} answers, after `/w/<workspace>`. */
export const HISTORY_ROUTES = ["/history", "/diff", "/changes", "/checkpoint", "/restore", "/undo", "/fork"];

/** What the history routes need from the workspace's object beyond its engine. */
export interface HistoryHost {
  /** What the request's token may do. */
  access: Access;
  fork(to: string, at: Point): Promise<unknown>;
  /** Listens for new revisions (the live change feed). */
  subscribe: Subscribe;
}

/**
 * History for scripts, as JSON (the MCP history tools give the same as text):
 * - `GET /history?path=&limit=&before=`: versions newest first, `next` to page, and the checkpoints;
 * - `GET /diff?from=&to=&path=`: what differs between two points (revisions, `checkpoint:<id>`, labels, `now`);
 * - `GET /changes?since=&limit=`: the change feed, a page of every change after a revision; with
 *   `Accept: text/event-stream` (or `stream=1`) a live stream of them, resumable (`Last-Event-ID`);
 * - `POST /checkpoint {label, description?}`, `POST /restore {to, path?, dry_run?}`,
 *   `POST /undo {call | last, force?, dry_run?}`: each answers what it made or changed;
 * - `POST /fork {to, at?}` (a full-access token: it writes another workspace) with `fork`.
 */
export async function handleHistory(fs: WorkspaceFs, request: Request, route: string, host: HistoryHost): Promise<Response> {
  const { access } = host;
  const history = fs.history;
  if (!history) return errorResponse(404, "ENOENT", "This workspace's server keeps no history");
  const url = new URL(request.url);
  const query = (name: string) => url.searchParams.get(name) ?? undefined;
  const reads = route === "/history" || route === "/diff" || route === "/changes";
  if (reads !== (request.method === "GET")) {
    return errorResponse(405, "EINVAL", `${request.method} is not supported on ${route}; use ${reads ? "GET" : "POST with a JSON body"}`);
  }
  if (!reads && access === "read") return errorResponse(403, "EACCES", `POST ${route} is refused: this token may only read`);
  if (route === "/fork") {
    if (access !== "full") return errorResponse(403, "EACCES", "POST /fork is refused: it writes another workspace, which needs a token with full access");
    const args = body(await request.text());
    if (typeof args.to !== "string") throw new FsError("EINVAL", "(to)", "is missing: give the new workspace's name");
    const at = args.at;
    return Response.json(await host.fork(args.to, at === undefined ? "now" : parsePoint(typeof at === "number" ? at : String(at))));
  }
  switch (route) {
    case "/history": {
      const before = query("before");
      const page = history.log({ path: query("path"), limit: integer(query("limit"), "limit"), before: integer(before, "before") });
      return Response.json({ ...page, since: history.since, rev: fs.rev, checkpoints: history.checkpoints() });
    }
    case "/changes": {
      const since = integer(request.headers.get("Last-Event-ID") ?? query("since") ?? "0", "since")!;
      if (query("stream") === "1" || request.headers.get("Accept")?.includes("text/event-stream")) return changeStream(history, since, host.subscribe);
      const page = history.changes(since, integer(query("limit"), "limit"));
      return Response.json({ entries: page.entries.map(feedEntry), rev: page.rev, more: page.more });
    }
    case "/diff": {
      const from = query("from");
      if (from === undefined) throw new FsError("EINVAL", "(from)", "is missing: give from=<revision, checkpoint:<id> or label>");
      const to = query("to");
      return Response.json(history.diff({ from: parsePoint(from), to: to === undefined ? "now" : parsePoint(to), path: query("path") }));
    }
    default: {
      const args = body(await request.text());
      return Response.json(fs.withSource({ kind: "files", name: route.slice(1) }, () => post(history, route, args)));
    }
  }
}

function post(history: WorkspaceHistory, route: string, args: Record<string, unknown>): unknown {
  const text = (name: string) => (args[name] === undefined ? undefined : String(args[name]));
  const point = (name: string) => {
    const value = args[name];
    if (typeof value !== "number" && typeof value !== "string")
      throw new FsError("EINVAL", `(${name})`, "is missing: give a revision, checkpoint:<id> or a label");
    return parsePoint(value);
  };
  switch (route) {
    case "/checkpoint":
      return history.checkpoint(text("label") ?? "", { description: text("description") });
    case "/restore":
      return history.restore({ to: point("to"), path: text("path"), dryRun: args.dry_run === true });
    default: {
      const last = args.last;
      if (last !== undefined && typeof last !== "number") throw new FsError("EINVAL", "(last)", "must be a number of calls");
      const call = text("call");
      return history.undo({
        ...(call === undefined ? { lastCalls: last as number | undefined } : { calls: [call] }),
        force: args.force === true,
        dryRun: args.dry_run === true,
      });
    }
  }
}

function body(raw: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(raw || "{}");
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // Answered below.
  }
  throw new FsError("EINVAL", "(body)", "is not a JSON object");
}

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new FsError("EINVAL", `(${name})`, `must be a whole number, not ${JSON.stringify(value).slice(0, 40)}`);
  return Number(value);
}
