import { type RpcStub, RpcTarget } from "capnweb";
import type { ExecArgs, ExecOutcome, PathChange } from "../mcp/workspace.ts";
import { EXEC_LIMITS, type ExecOutput } from "../wire/exec.ts";
import type { WsdInfo, WsdPeer } from "../wire/sync.ts";
import type { Source, WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError, fsErrorFrom, messageOf } from "../workspace-do/errors.ts";
import { comparePaths } from "../workspace-do/paths.ts";

/** One wsd session attached to this workspace. */
export interface AttachedWsd {
  info: WsdInfo;
  peerId: string;
  peer: RpcStub<WsdPeer>;
  attachedAt: number;
  /** Commands running on it, told of every path its pushes touch. */
  watches: Set<ChangeWatch>;
}

/** Between a command's start and its end: each path a push touched, and whether it existed before. */
export class ChangeWatch {
  readonly before = new Map<string, boolean>();
  /** The run it watches: what history records the run's pushes under. */
  readonly source: Source;
  readonly conflicts: { path: string; keptAs?: string }[] = [];

  constructor(run: { id: string; command: string; wsd: string }) {
    this.source = { kind: "exec", name: run.wsd, call: run.id, detail: run.command };
  }

  /** Call before a push changes `path`. */
  touching(fs: WorkspaceFs, path: string): void {
    if (!this.before.has(path)) this.before.set(path, fs.exists(path, { followSymlink: false }));
  }

  changes(fs: WorkspaceFs): PathChange[] {
    const changes: PathChange[] = [];
    for (const [path, existed] of this.before) {
      const exists = fs.exists(path, { followSymlink: false });
      if (existed || exists) changes.push({ path, change: !existed ? "created" : !exists ? "deleted" : "modified" });
    }
    return changes.sort((a, b) => comparePaths(a.path, b.path));
  }
}

/**
 * The wsd sessions attached to one workspace: told of every new revision, and the way `exec`
 * reaches a sandbox. A session leaves when its connection breaks or a call to it fails.
 */
export class AttachedWsds {
  readonly #fs: () => WorkspaceFs;
  readonly #sessions = new Set<AttachedWsd>();

  constructor(fs: () => WorkspaceFs) {
    this.#fs = fs;
  }

  attach(peer: RpcStub<WsdPeer>, peerId: string, info: WsdInfo): AttachedWsd {
    const session: AttachedWsd = { info, peerId, peer, attachedAt: Date.now(), watches: new Set() };
    this.#sessions.add(session);
    peer.onRpcBroken(() => this.detach(session));
    return session;
  }

  detach(session: AttachedWsd): void {
    if (!this.#sessions.delete(session)) return;
    session.peer[Symbol.dispose]();
  }

  list(): AttachedWsd[] {
    return [...this.#sessions];
  }

  /** Tells every session the workspace reached `rev`. */
  notify(rev: number): void {
    for (const session of this.#sessions) session.peer.changed(rev).catch(() => this.detach(session));
  }

  /** Runs a command in a sandbox through `session` (see {@link choose}), between the two barriers; `id` names the run. */
  async exec(session: AttachedWsd, id: string, args: ExecArgs): Promise<ExecOutcome> {
    const watch = new ChangeWatch({ id, command: args.command, wsd: session.info.name });
    const timeoutMs = Math.min(args.timeoutMs ?? EXEC_LIMITS.defaultTimeoutMs, EXEC_LIMITS.maxTimeoutMs);
    const output = new ExecListener(() => {
      session.watches.add(watch);
      args.onStarted?.(id, `wsd ${session.info.name}`);
    }, args.onOutput);
    // wsd enforces the timeout; this one only guards against a sandbox that stopped answering.
    let expired: ReturnType<typeof setTimeout> | undefined;
    const unanswered = new Promise<never>((_, reject) => {
      expired = setTimeout(() => {
        // Best effort: a wsd that stopped answering cannot take the kill either; the caller is told below.
        session.peer.kill(id).catch(() => {});
        reject(
          new FsError("EIO", "(exec)", `got no answer from wsd "${session.info.name}" within ${Math.round(timeoutMs / 1000) + 30} s; the command was killed`),
        );
      }, timeoutMs + 30_000);
    });
    // A kill that cannot reach wsd means its session broke, which ends the call with its own error.
    const cancel = () => session.peer.kill(id).catch(() => {});
    args.signal?.addEventListener("abort", cancel, { once: true });
    try {
      const result = await Promise.race([
        session.peer.exec({ id, command: args.command, cwd: args.cwd, env: args.env, stdin: args.stdin, timeoutMs, rev: this.#fs().rev }, output),
        unanswered,
      ]);
      return { ...result, id, wsd: session.info.name, sandbox: "wsd", changes: watch.changes(this.#fs()), conflicts: watch.conflicts };
    } catch (error) {
      if (error instanceof FsError) throw error;
      const reason = messageOf(error);
      if (!this.#sessions.has(session)) {
        throw new FsError(
          "EIO",
          "(exec)",
          `failed: wsd "${session.info.name}" disconnected while the command ran (${reason}); its result is lost, and what it changed syncs when that wsd reconnects`,
        );
      }
      throw fsErrorFrom(reason) ?? new FsError("EIO", "(exec)", `failed in wsd "${session.info.name}": ${reason}`);
    } finally {
      args.signal?.removeEventListener("abort", cancel);
      if (expired !== undefined) clearTimeout(expired);
      session.watches.delete(watch);
      output.close();
    }
  }

  /** The session that runs a command for `name` (default the most recently attached); throws an FsError when none can. */
  choose(name: string | undefined): AttachedWsd {
    const sessions = this.list();
    if (sessions.length === 0) {
      throw new FsError(
        "ENOENT",
        "(exec)",
        "has no sandbox to run in: no wsd is attached to this workspace. Attach one with `wsd mount <server>/w/<workspace> <dir>` (see the README), then try again",
      );
    }
    const named = name === undefined ? sessions : sessions.filter((session) => session.info.name === name);
    if (named.length === 0) {
      throw new FsError("ENOENT", `(wsd ${name})`, `is not attached; attached: ${sessions.map((session) => session.info.name).join(", ")}`);
    }
    const willing = named.filter((session) => session.info.exec);
    if (willing.length === 0) {
      throw new FsError(
        "EPERM",
        "(exec)",
        `is refused: ${named.map((session) => `wsd "${session.info.name}"`).join(", ")} ${named.length === 1 ? "was" : "were"} started with --no-exec`,
      );
    }
    return willing.reduce((latest, session) => (session.attachedAt >= latest.attachedAt ? session : latest));
  }
}

/** The object's receiver for one command's output; it starts the change watch at `started`. */
class ExecListener extends RpcTarget implements ExecOutput {
  #onStarted: (() => void) | undefined;
  #onOutput: ExecArgs["onOutput"];

  constructor(onStarted: () => void, onOutput: ExecArgs["onOutput"]) {
    super();
    this.#onStarted = onStarted;
    this.#onOutput = onOutput;
  }

  started(): void {
    this.#onStarted?.();
    this.#onStarted = undefined;
  }

  stdout(text: string): void {
    this.#onOutput?.("stdout", text);
  }

  stderr(text: string): void {
    this.#onOutput?.("stderr", text);
  }

  close(): void {
    this.#onStarted = undefined;
    this.#onOutput = undefined;
  }
}
