import { McpServer } from "@modelcontextprotocol/server";
import { Agent, getAgentByName } from "agents";
import { createMcpHandler, type StatelessMcpHandler } from "agents/mcp/server";
import { newWorkersWebSocketRpcResponse } from "capnweb";
import { registerWorkspaceApp, VIEW_URI } from "../mcp/app-view.ts";
import { INSTRUCTIONS } from "../mcp/instructions.ts";
import { registerWorkspacePrompts } from "../mcp/prompts.ts";
import { resourceUri } from "../mcp/resource-uri.ts";
import { registerWorkspaceResources } from "../mcp/resources.ts";
import { callTool, registerWorkspaceTools } from "../mcp/server.ts";
import type { ExecArgs, ToolResult, Workspace } from "../mcp/workspace.ts";
import { VERSION } from "../version.ts";
import type { ChangeEntry, DirEntryWithStats, HistoryOptions, Point } from "../workspace-do/engine.ts";
import { WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError, fsErrorFrom, messageOf } from "../workspace-do/errors.ts";
import { durableObjectSql } from "../workspace-do/sql-durable-object.ts";
import { AttachedWsds } from "./attached-wsd.ts";
import { grantedAccess } from "./auth.ts";
import { BROWSE_ROUTES, handleBrowse } from "./browse-route.ts";
import { type ExecPlace, ExecRunTable } from "./exec-runs.ts";
import { handleFiles } from "./files-route.ts";
import { HISTORY_ROUTES, handleHistory } from "./history-route.ts";
import { errorResponse, responseForError } from "./http.ts";
import { McpServerPool } from "./mcp-server-pool.ts";
import { OBJECT_SHELL, runInObject } from "./object-shell.ts";
import type { WorkspaceServerEnv } from "./server-env.ts";
import { ForkReceiver, type ForkResult, type ForkTarget, sendFork } from "./workspace-fork.ts";
import { type SyncConflict, WorkspaceSync } from "./workspace-sync.ts";
import { splitWorkspaceUrl, WORKSPACE_NAME } from "./workspace-url.ts";

/** Largest MCP request body; the write tool's content cap (10 Mi characters) fits inside. */
export const MAX_MCP_BODY_BYTES = 16 * 1024 * 1024;
/** Files of one revision told to subscribed MCP clients one by one; past this, only that the list changed. */
const MAX_UPDATES_PER_REVISION = 1000;
/** How often a streamed MCP answer proves its client is still there (see #mcpHandler). */
const MCP_KEEPALIVE_MS = 5000;
/** Conflict notices kept for MCP clients; older ones only reach the log. */
const MAX_NOTICES = 20;

/**
 * One workspace: an Agents SDK Durable Object whose SQLite storage holds the file tree, served
 * to every MCP session and every wsd of that workspace. The engine runs synchronously inside
 * the object, so each operation is atomic and all of them are ordered.
 *
 * Requests arrive from the Worker's routes (`routes.ts`) already authorized, at `/w/<name>/...`.
 */
export class WorkspaceAgent extends Agent<WorkspaceServerEnv> {
  #fs: WorkspaceFs | undefined;
  #mcp: StatelessMcpHandler | undefined;
  /** The MCP servers requests are answered with, reused (see McpServerPool). */
  readonly #mcpServers = new McpServerPool();
  /** Connected wsd sessions: told of every new revision, and where exec runs. */
  readonly #wsds = new AttachedWsds(() => this.fs);
  /** Commands exec started on them, by id (exec_status, exec_kill). */
  readonly #runs = new ExecRunTable((args) => this.#execPlace(args));
  /** Sync conflicts not yet told to an MCP client (the next tool result carries them). */
  #notices: string[] = [];
  /** Live change feeds open on this object: each is told of every new revision. */
  readonly #changeListeners = new Set<() => void>();
  /** The MCP App's page, once read (see #viewHtml). */
  #view: Promise<string> | undefined;
  /** A fork into this workspace, between its calls. */
  readonly #forkReceiver = new ForkReceiver();

  /** The workspace's engine, opened (and its tables created) on first use. */
  get fs(): WorkspaceFs {
    return (this.#fs ??= new WorkspaceFs(durableObjectSql(this.ctx.storage), {
      onChange: (rev) => {
        this.#wsds.notify(rev);
        this.#tellSubscribers(rev);
        for (const listener of this.#changeListeners) {
          // A feed whose reader went away stops listening; it never fails the change itself.
          try {
            listener();
          } catch {
            this.#changeListeners.delete(listener);
          }
        }
      },
      history: historyOptions(this.env),
      // The content index (grep reads only the files that can match) unless `CONTENT_INDEX=off`.
      contentIndex: this.env.CONTENT_INDEX !== "off",
    }));
  }

  /** The tree and its sandboxes, as the tools (MCP and the coding agent's) see them. */
  get workspace(): Workspace {
    return { name: this.name, fs: this.fs, exec: (args) => this.#runs.start(args).result, runs: this.#runs, fork: (to, at) => this.fork(to, at) };
  }

  /**
   * A command runs in a sandbox when one that runs commands is attached (or one is asked for),
   * else in the workspace's own shell (object-shell.ts).
   */
  #execPlace(args: ExecArgs): ExecPlace {
    const sandboxed = args.sandbox ? args.sandbox === "wsd" : args.wsd !== undefined || this.#wsds.list().some((session) => session.info.exec);
    if (!sandboxed) return { name: OBJECT_SHELL, sandbox: "none", run: (id, command) => runInObject(this.fs, id, command) };
    const session = this.#wsds.choose(args.wsd);
    return { name: session.info.name, sandbox: "wsd", run: (id, command) => this.#wsds.exec(session, id, command) };
  }

  /** `/wsd` is answered here (its WebSocket upgrade becomes a capnweb session, for a token that may write); everything else goes to the agent. */
  override async fetch(request: Request): Promise<Response> {
    const isUpgrade = request.headers.get("Upgrade")?.toLowerCase() === "websocket";
    if (splitWorkspaceUrl(new URL(request.url).pathname).rest === "/wsd") {
      if (grantedAccess(request) === "read") {
        return errorResponse(403, "EACCES", "A read-only token cannot attach a wsd (it pushes changes); mount with a token that can write");
      }
      // A plain GET (wsd's check before it connects) learns that it may attach.
      if (!isUpgrade) return errorResponse(426, "EINVAL", "/wsd speaks capnweb over a WebSocket: open it with an Upgrade request (wsd does)");
      return newWorkersWebSocketRpcResponse(request, new WorkspaceSync(this.fs, this.#wsds, (conflict) => this.#conflicted(conflict)));
    }
    return super.fetch(request);
  }

  override async onRequest(request: Request): Promise<Response> {
    const { name, rest } = splitWorkspaceUrl(new URL(request.url).pathname);
    try {
      if (rest === "/mcp") return await this.#mcpHandler(name).fetch(request);
      if (rest === "/files" || rest.startsWith("/files/")) {
        return await this.fs.withSource({ kind: "files" }, () => handleFiles(this.fs, request, rest.slice("/files".length), grantedAccess(request)));
      }
      if (BROWSE_ROUTES.includes(rest)) return handleBrowse(this.fs, request, rest, () => this.#wsds.list());
      if (HISTORY_ROUTES.includes(rest)) {
        return await handleHistory(this.fs, request, rest, {
          access: grantedAccess(request),
          fork: (to, at) => this.fork(to, at),
          subscribe: (listener) => {
            this.#changeListeners.add(listener);
            return () => this.#changeListeners.delete(listener);
          },
        });
      }
      // Reaches the object and answers a small JSON body without touching the tree: a liveness
      // check, and the floor the MCP benchmark measures (a body costs wrangler dev ~4 ms more than none).
      if (rest === "/ping") return Response.json({ ok: true });
      return errorResponse(
        404,
        "ENOENT",
        `${rest} is not a route of a workspace; use /mcp, /files/<path>, /history, /diff, /changes, /checkpoint, /restore, /undo, /fork, /search, /sandboxes, /ping or /wsd`,
      );
    } catch (error) {
      return responseForError(error, `workspace ${name} ${request.method} ${rest}`);
    }
  }

  /**
   * MCP clients subscribed (`subscriptions/listen`) hear of the revision: each file it changed
   * as `resources/updated`, and `resources/list_changed` when files came or went.
   */
  #tellSubscribers(rev: number): void {
    const history = this.#fs?.history;
    if (!this.#mcp || !history) return;
    const touched = history.touchedBy(rev);
    for (const { path } of touched.slice(0, MAX_UPDATES_PER_REVISION)) this.#mcp.notify.resourceUpdated(resourceUri(path));
    if (touched.length > MAX_UPDATES_PER_REVISION || touched.some(({ existed, exists }) => existed !== exists)) this.#mcp.notify.resourcesChanged();
  }

  #conflicted({ path, keptAs, wsd }: SyncConflict): void {
    const notice = `${path} was changed both here and in the sandbox of wsd "${wsd}" at once; the workspace's version stays${keptAs ? ` and the sandbox's is kept as ${keptAs}` : ""}.`;
    console.log(`workspace conflict: ${notice}`);
    this.#notices = [...this.#notices, notice].slice(-MAX_NOTICES);
  }

  // ---- Durable Object RPC ---------------------------------------------------------------------
  // For Workers bound to this class (examples/rpc-worker): `env.WORKSPACE.getByName(name).readText(path)`.
  // A binding is itself the permission, so no token is checked. Each call is one engine operation
  // (wsd mounts see it live); an FsError reaches the caller as an Error whose message starts with
  // the errno code and the path: `ENOENT: /out/report.md does not exist`.

  /** Writes files, creating their parent directories, in one transaction: all of them or none. */
  writeFiles(files: Record<string, string | Uint8Array>): void {
    this.fs.batch(() => {
      for (const [path, content] of Object.entries(files)) this.fs.writeFile(path, content, { parents: true });
    });
  }

  /** A file's bytes. */
  readFile(path: string): Uint8Array {
    return this.fs.readFile(path);
  }

  /** A file's content as UTF-8 text. */
  readText(path: string): string {
    return this.fs.readFile(path, { encoding: "utf8" });
  }

  /** A directory's entries with their stats, sorted by name. */
  list(path = "/"): DirEntryWithStats[] {
    return this.fs.readdir(path, { withStats: true });
  }

  /** Removes a file, symlink or empty directory; with `recursive`, a whole tree. */
  remove(path: string, options: { recursive?: boolean } = {}): void {
    this.fs.rm(path, options);
  }

  /** Runs one of the workspace's tools (the MCP tools, history and exec included), over Durable Object RPC: how the coding agent works. */
  async callTool(name: string, args: unknown): Promise<ToolResult> {
    return callTool(this.workspace, name, args);
  }
  /**
   * Copies this workspace's tree at `at` (default now) into the empty workspace `to`: another
   * object, sharing nothing afterwards. Only the chunks it lacks are sent.
   */
  async fork(to: string, at: Point = "now"): Promise<ForkResult> {
    if (typeof to !== "string" || !WORKSPACE_NAME.test(to)) {
      throw new FsError("EINVAL", `(workspace ${String(to).slice(0, 80)})`, "is not a valid workspace name: use 1 to 63 letters, digits, '.', '_' or '-'");
    }
    if (to === this.name) throw new FsError("EINVAL", `(workspace ${to})`, "is this workspace; fork into another name");
    const target = (await getAgentByName(this.env.WORKSPACE, to)) as unknown as ForkTarget;
    try {
      return await sendFork(this.fs, target, at, this.name);
    } catch (error) {
      if (error instanceof FsError) throw error;
      throw fsErrorFrom(messageOf(error)) ?? new FsError("EIO", `(workspace ${to})`, "failed to take the fork; try again into a new name");
    }
  }

  /** Fork, the receiving side (called by the forking workspace): starts, answers the chunks it lacks. */
  forkBegin(hashes: string[]): string[] {
    return this.#forkReceiver.begin(this.fs, hashes);
  }

  forkChunks(chunks: Uint8Array[]): void {
    this.#forkReceiver.chunks(this.fs, chunks);
  }

  forkApply(entries: ChangeEntry[], origin: string, last: boolean): void {
    this.#forkReceiver.apply(this.fs, entries, origin, last);
  }
  // ---- end of Durable Object RPC --------------------------------------------------------------

  /** One stateless MCP handler per object: each request gets a fresh server over the one engine. */
  /** The MCP App's page, from the Worker's static assets (built by scripts/build-web.mjs), read once. */
  #viewHtml(assets: Fetcher): Promise<string> {
    this.#view ??= assets.fetch("https://assets.local/web/mcp-app.html").then((response) => {
      if (!response.ok) throw new FsError("ENOENT", VIEW_URI, "is not built on this server: its assets lack web/mcp-app.html (npm run build:web)");
      return response.text();
    });
    // A failed read is not kept: the next ask tries again.
    this.#view.catch(() => (this.#view = undefined));
    return this.#view;
  }

  #mcpHandler(name: string): StatelessMcpHandler {
    return (this.#mcp ??= createMcpHandler(
      ({ era, requestInfo }) => {
        // The access the Worker granted this request; without the request, the least.
        const access = requestInfo ? grantedAccess(requestInfo) : "read";
        return this.#mcpServers.take(`${era} ${access}`, () => {
          const server = new McpServer({ name: `workspace ${name}`, version: VERSION }, { instructions: INSTRUCTIONS });
          registerWorkspaceTools(server, { ...this.workspace, access }, () => this.#notices.splice(0));
          registerWorkspaceResources(server, this.fs);
          registerWorkspacePrompts(server, { ...this.workspace, access });
          if (this.env.ASSETS) registerWorkspaceApp(server, { ...this.workspace, access }, () => this.#viewHtml(this.env.ASSETS!));
          return server;
        });
      },
      {
        route: `/w/${name}/mcp`,
        maxRequestBodySize: MAX_MCP_BODY_BYTES,
        // A streamed answer (exec with progress) writes a comment this often: how a client that went away is noticed, and its command killed.
        keepAliveMs: MCP_KEEPALIVE_MS,
        onerror: (error) => console.error(`workspace ${name} mcp:`, error),
      },
    ));
  }
}

/** History retention from the Worker's variables (`HISTORY_KEEP_HOURS`, `HISTORY_KEEP_CHECKPOINTS`), else the defaults. */
function historyOptions(env: WorkspaceServerEnv): HistoryOptions {
  const number = (value: string | undefined) => (value !== undefined && /^\d+(\.\d+)?$/.test(value) ? Number(value) : undefined);
  const hours = number(env.HISTORY_KEEP_HOURS);
  const checkpoints = number(env.HISTORY_KEEP_CHECKPOINTS);
  return {
    ...(hours !== undefined ? { keepMs: hours * 3_600_000 } : {}),
    ...(checkpoints !== undefined ? { keepCheckpoints: Math.floor(checkpoints) } : {}),
  };
}
