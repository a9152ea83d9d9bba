import { mkdirSync, renameSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError, isFsError, messageOf } from "../workspace-do/errors.ts";
import { type NodeSql, openNodeSql } from "../workspace-do/sql-node.ts";
import { chunksNamed } from "../workspace-do/sync.ts";
import { MountCommands } from "./commands.ts";
import type { CommandUser } from "./exec.ts";
import { fuseMounts } from "./fuse-binding.ts";
import { Housekeeper } from "./housekeeper.ts";
import { LOCAL_PATHS_FILE, LocalPaths } from "./local-paths.ts";
import { ATTRIBUTE_CACHE_SECONDS, type MountedWorkspace, mountWorkspace } from "./mount.ts";
import { checkServer, lookUpUser, prepareMountpoint, StartError } from "./preflight.ts";
import { PushScheduler } from "./push-scheduler.ts";
import { PENDING_COUNTED, StatusFile, type StopSummary } from "./status.ts";
import { HELD, SyncClient } from "./sync-client.ts";
import { type DaemonTiming, DEFAULT_TIMING } from "./timing.ts";

/** How a {@link WsdDaemon} mounts and syncs one workspace. */
export interface WsdDaemonOptions {
  /** The workspace, `http(s)://host/w/<workspace>` (see {@link parseWorkspaceUrl}). */
  url: string;
  /** Where to mount it (created if missing). */
  mountpoint: string;
  /** The bearer token: the server's secret or the workspace's scoped token. */
  token?: string;
  /** The replica's folder. Default: `$XDG_CACHE_HOME/wsd/<host>-<workspace>` ({@link defaultCacheDirectory}). */
  cache?: string;
  /** How this wsd introduces itself; the exec tool picks a wsd by it. Default "wsd". */
  name?: string;
  /** Run the workspace's exec calls in the mount. Default true. */
  exec?: boolean;
  /** The user (name or id) the workspace's exec commands run as. Default: the user wsd runs as. */
  execUser?: string;
  /** Refuse every change in the mount with EROFS. Default false. */
  readOnly?: boolean;
  /** How long the kernel may show a file's old size and times after sync changed it. Default {@link ATTRIBUTE_CACHE_SECONDS}. */
  attributeCacheSeconds?: number;
  /**
   * Globs (gitignore syntax) of paths kept in the replica only, besides what `/.wsdignore`
   * names: never pushed, pulled changes to them skipped (see {@link LocalPaths}). Default none.
   */
  local?: string[];
  /**
   * The most bytes of content the replica keeps: past it, when the mount is quiet, content the
   * workspace already holds is dropped (fetched again when a file is opened). Default: no limit.
   */
  cacheMaxBytes?: number;
  /**
   * Fetch the whole workspace's content before mounting (for use offline later). Default false:
   * the mount is usable once the tree is known, and a file's content comes when it is first
   * opened.
   */
  prefetch?: boolean;
  /** Log every pull and FUSE operation. Default false. */
  verbose?: boolean;
  /** Where log lines go. Default: standard output, prefixed `wsd: `. */
  log?: (line: string) => void;
  /** The daemon's intervals; tests shorten them. Default {@link DEFAULT_TIMING}. */
  timing?: Partial<DaemonTiming>;
}

/** Chunks whose bytes one housekeeping slice drops over the cache limit (up to 16 MiB at the default chunk size). */
const EVICTED_PER_SLICE = 64;

/** The replica's WAL is copied into the database once it holds this many pages (256 MiB), or when idle. */
const WAL_PAGES_BEFORE_CHECKPOINT = 65_536;

/** A workspace URL's parts; throws EINVAL when it is not `http(s)://host/w/<workspace>`. */
export function parseWorkspaceUrl(workspaceUrl: string): { base: string; name: string; host: string } {
  let url: URL | undefined;
  try {
    url = new URL(workspaceUrl);
  } catch {
    // reported below
  }
  const name = url && /^\/w\/([^/]+)\/?$/.exec(url.pathname)?.[1];
  if (!url || !name || !/^https?:$/.test(url.protocol)) {
    throw new FsError("EINVAL", workspaceUrl, "is not a workspace URL; give http(s)://host/w/<workspace>");
  }
  return { base: `${url.origin}/w/${name}`, name, host: url.host };
}

/** Where a workspace's replica lives unless `--cache` says otherwise. */
export function defaultCacheDirectory(workspaceUrl: string): string {
  const { host, name } = parseWorkspaceUrl(workspaceUrl);
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "wsd", `${host.replace(/[^\w.-]/g, "_")}-${name}`);
}

/**
 * wsd as an object: keeps a replica of one workspace in a local database, mounts it with FUSE,
 * and syncs it live both ways over one capnweb session, reconnecting with backoff while the
 * mount keeps working from the replica. `start()` connects (pulling what it lacks) and mounts;
 * `stop()` unmounts, pushes what is left and lets go of everything it holds.
 *
 * ```ts
 * const daemon = new WsdDaemon({ url: "http://localhost:8787/w/default", mountpoint: "/workspace" });
 * await daemon.start();
 * // … the mount is live …
 * await daemon.stop();
 * ```
 *
 * Never touch the mount synchronously from the process that runs the daemon: the FUSE callbacks
 * run on its event loop.
 */
export class WsdDaemon {
  readonly #options: WsdDaemonOptions;
  readonly #base: string;
  readonly #cache: string;
  readonly #timing: DaemonTiming;
  readonly #log: (line: string) => void;
  #database: NodeSql;
  #replica: WorkspaceFs;
  #client: SyncClient | undefined;
  #mounted: MountedWorkspace | undefined;
  #status: StatusFile | undefined;
  #conflicts = 0;
  #stopping = false;
  /** The one reconnect loop, however many sessions report breaking. */
  #reconnecting: Promise<void> | undefined;
  /** The reconnect loop's wait between tries, and how to cut it short when stopping. */
  #retryWait: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined;
  readonly #pushes: PushScheduler;
  readonly #housekeeper: Housekeeper;
  readonly #commands: MountCommands;
  readonly #localPaths: LocalPaths;
  /** Checks every `mountCheckMs` that the mount is still there (someone may `umount -l` it). */
  #mountCheck: ReturnType<typeof setInterval> | undefined;
  /** Set once the mount disappeared from under the daemon: exec is refused from then on. */
  #mountLost = false;
  readonly #ended: Promise<StopSummary>;
  #end!: (summary: StopSummary) => void;
  /** Whom exec commands run as, looked up at start (`execUser`). */
  #commandUser: CommandUser | undefined;

  constructor(options: WsdDaemonOptions) {
    this.#options = options;
    this.#base = parseWorkspaceUrl(options.url).base;
    this.#cache = resolve(options.cache ?? defaultCacheDirectory(options.url));
    this.#timing = { ...DEFAULT_TIMING, ...options.timing };
    this.#log = options.log ?? ((line) => console.log(`wsd: ${line}`));
    mkdirSync(this.#cache, { recursive: true });
    this.#database = this.#openDatabase();
    this.#replica = this.#openReplica();
    this.#pushes = new PushScheduler({
      push: () => this.#client?.push(),
      timing: this.#timing,
      log: this.#log,
      // A push makes local changes the workspace's: content they held may now be evicted.
      onPushed: () => {
        this.#status?.update({});
        if (this.#options.cacheMaxBytes !== undefined) this.#housekeeper.poke();
      },
      holdingBack: () => this.#client?.holdingBack ?? false,
    });
    this.#housekeeper = new Housekeeper(
      () => this.#replica,
      () => this.#database,
      this.#timing,
      () => this.#evictSlice(),
    );
    this.#localPaths = new LocalPaths(() => this.#replica, options.local);
    this.#ended = new Promise((resolve) => (this.#end = resolve));
    this.#commands = new MountCommands({
      replica: () => this.#replica,
      mountpoint: () => (this.#mountLost ? undefined : this.#mounted?.mountpoint),
      settle: () => this.#mounted?.adapter.settle(),
      attributesCachedUntil: (path) => this.#mounted?.adapter.attributesCachedUntil(path) ?? 0,
      log: options.verbose ? this.#log : undefined,
      user: () => this.#commandUser,
    });
  }

  /** The workspace's base URL, `http(s)://host/w/<workspace>`. */
  get url(): string {
    return this.#base;
  }

  /** The replica's folder. */
  get cache(): string {
    return this.#cache;
  }

  /** Where the workspace is mounted, once it is. */
  get mountpoint(): string | undefined {
    return this.#mounted?.mountpoint;
  }

  /** Whether a sync session is up. */
  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** The workspace revision the replica holds. */
  get revision(): number {
    return this.#replica.cursor("pulled");
  }

  /** The replica the mount serves (tests look inside; a reset workspace replaces it). */
  get replica(): WorkspaceFs {
    return this.#replica;
  }

  /** True while any of the daemon's timers is set: after `stop()`, false. */
  get timersPending(): boolean {
    return this.#pushes.pending || this.#housekeeper.pending || this.#retryWait !== undefined || this.#mountCheck !== undefined;
  }

  /**
   * Resolves once the daemon has stopped, whether by `stop()` or because its mount disappeared
   * (unmounted from outside), with what the last push sent and what stays in the replica.
   */
  get ended(): Promise<StopSummary> {
    return this.#ended;
  }

  /**
   * Connects (pulling what the replica lacks and pushing what it holds that the workspace does
   * not), then mounts. A workspace that was reset is detected: the old replica is kept aside and
   * an empty one takes its place. Rejects if the first connection fails; after that, a broken
   * session is retried with backoff.
   */
  async start(): Promise<void> {
    const mountpoint = resolve(this.#options.mountpoint);
    if (this.#options.execUser !== undefined) this.#commandUser = await lookUpUser(this.#options.execUser);
    await checkServer(this.#base, this.#options.token);
    if (await prepareMountpoint(mountpoint)) this.#log(`created ${mountpoint}`);
    try {
      await this.#connect(true);
    } catch (error) {
      if (!isFsError(error, "ESTALE")) throw error;
      const aside = join(this.#cache, `replica.db.orphaned-${Date.now()}`);
      this.#database.close();
      renameSync(join(this.#cache, "replica.db"), aside);
      this.#log(`${error.message}; the old replica is kept as ${aside}`);
      this.#database = this.#openDatabase();
      this.#replica = this.#openReplica();
      await this.#connect(true);
    }
    try {
      this.#mounted = await mountWorkspace(this.#replica, mountpoint, {
        readOnly: this.#options.readOnly,
        attributeCacheSeconds: this.#options.attributeCacheSeconds,
        trace: this.#options.verbose ? this.#log : undefined,
        onReleased: () => this.#pushes.changed(),
        crossesDevice: (from, to, type) => this.#localPaths.crossesBoundary(from, to, type),
        ensureContent: (path) => this.#ensureContent(path),
        onFsync: (path) => this.#pushed(path),
      });
    } catch (error) {
      throw new StartError("fuse", `cannot mount ${mountpoint}: ${messageOf(error)}`);
    }
    this.#log(`mounted ${this.#base} at ${this.#mounted.mountpoint} (replica in ${this.#cache})`);
    this.#status = new StatusFile(
      {
        url: this.#base,
        mountpoint: this.#mounted.mountpoint,
        cache: this.#cache,
        name: this.#name,
        exec: this.#exec,
        state: this.#client ? "connected" : "reconnecting",
        rev: this.revision,
        conflicts: this.#conflicts,
      },
      () => this.#pending(PENDING_COUNTED),
    );
    this.#mountCheck = setInterval(() => {
      this.#checkMount().catch((error: unknown) => this.#log(`checking the mount: ${messageOf(error)}`));
    }, this.#timing.mountCheckMs);
  }

  /**
   * Stops running commands, unmounts (landing open files), pushes what is left (waiting at most
   * `lastPushMs` for a server that does not answer), closes the session and the replica.
   */
  async stop(): Promise<StopSummary> {
    if (this.#stopping) return this.#ended;
    this.#stopping = true;
    clearInterval(this.#mountCheck);
    this.#mountCheck = undefined;
    this.#retryWait?.wake();
    this.#commands.killAll();
    try {
      await this.#mounted?.unmount();
    } catch (error) {
      // A mount already taken away from outside cannot be unmounted again; its writes were landed.
      this.#log(`unmount: ${messageOf(error)}`);
    }
    this.#pushes.stop();
    this.#housekeeper.stop();
    const before = this.#pending();
    let lastPushTimer: ReturnType<typeof setTimeout> | undefined;
    // A push that fails here is not retried: what it held stays in the replica for the next mount.
    const lastPush = this.#client?.push().catch((error: unknown) => this.#log(`last push failed (${messageOf(error)})`));
    await Promise.race([lastPush, new Promise((done) => (lastPushTimer = setTimeout(done, this.#timing.lastPushMs)))]);
    clearTimeout(lastPushTimer);
    this.#client?.close();
    this.#client = undefined;
    const kept = this.#pending();
    const summary = { pushed: Math.max(0, before - kept), kept };
    this.#status?.finish(summary);
    this.#database.close();
    if (this.#mounted) {
      const keptNote = kept > 0 ? `; ${plural(kept, "change")} kept in the replica (${this.#cache}) for the next mount` : "";
      this.#log(`unmounted ${this.#mounted.mountpoint}; pushed ${plural(summary.pushed, "change")}${keptNote}`);
    }
    this.#end(summary);
    return summary;
  }

  /** Local changes not in the workspace yet: those after the push cursor (counted up to `limit`), and files a push held back. */
  #pending(limit = Number.MAX_SAFE_INTEGER): number {
    return this.#replica.changesSince(this.#replica.cursor("pushed"), { limit }).entries.length + this.#replica.cursors(HELD).length;
  }

  async #checkMount(): Promise<void> {
    const mountpoint = this.#mounted?.mountpoint;
    if (this.#stopping || mountpoint === undefined) return;
    if ((await fuseMounts()).some((entry) => entry.mountpoint === mountpoint)) return;
    this.#mountLost = true;
    this.#log(`the mount at ${mountpoint} was taken away (unmounted from outside); pushing what is left and stopping`);
    await this.stop();
  }

  /**
   * One slice of eviction over `cacheMaxBytes`: drops the bytes of chunks the workspace holds,
   * never those of local changes not pushed yet, of files a push held back, or of open files.
   * Answers whether content is still over the limit (and something could go).
   */
  #evictSlice(): boolean {
    const max = this.#options.cacheMaxBytes;
    if (max === undefined) return false;
    const over = this.#replica.contentBytes() - max;
    if (over <= 0) return false;
    const unpushed = this.#replica.changesSince(this.#replica.cursor("pushed"), { limit: Number.MAX_SAFE_INTEGER }).entries;
    const heldBack = this.#replica.cursors(HELD).map(({ name }) => name.slice(HELD.length));
    const open = this.#mounted?.adapter.openPaths() ?? [];
    const keep = new Set(chunksNamed([...unpushed, ...[...heldBack, ...open].map((path) => this.#replica.changeOf(path))]));
    const dropped = this.#replica.evictContent(EVICTED_PER_SLICE, keep);
    return dropped > 0 && dropped < over;
  }

  /** Fetches what the file at `path` lacks (a cold mount fetches content on first open); undefined when it lacks nothing. */
  #ensureContent(path: string): Promise<void> | undefined {
    const absent = this.#replica.absentChunksOf(path);
    if (absent.length === 0) return undefined;
    const client = this.#client;
    if (!client) return Promise.reject(new FsError("EIO", path, "has content this replica has not fetched, and the workspace is not reachable now"));
    return client.fetch(absent);
  }

  /** A file whose writer was active within `openWritePushMs`: pushes hold it back (docs/02-fuse-write-model.md). */
  #beingWritten(path: string): boolean {
    const activeAt = this.#mounted?.adapter.writerActiveAt(path);
    return activeAt !== undefined && Date.now() - activeAt < this.#timing.openWritePushMs;
  }

  /**
   * For fsync: resolves once a push that started after the file landed in the replica has
   * succeeded (the workspace holds it), waiting through a reconnect for at most `fsyncWaitMs`;
   * rejects after that, and fsync answers EIO.
   */
  async #pushed(path: string): Promise<void> {
    const deadline = Date.now() + this.#timing.fsyncWaitMs;
    let lastError: unknown;
    while (Date.now() < deadline && !this.#stopping) {
      const pushing = this.#client?.push();
      if (pushing !== undefined) {
        try {
          return await pushing;
        } catch (error) {
          lastError = error;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new FsError(
      "EIO",
      path,
      `was not pushed to the workspace within ${this.#timing.fsyncWaitMs / 1000} s${lastError ? ` (${messageOf(lastError)})` : ""}`,
    );
  }

  get #name(): string {
    return this.#options.name ?? "wsd";
  }

  get #exec(): boolean {
    return this.#options.exec ?? true;
  }

  /** The replica's database, this daemon's alone: a second wsd on the same cache is refused. */
  #openDatabase(): NodeSql {
    try {
      return openNodeSql(join(this.#cache, "replica.db"), { walAutocheckpointPages: WAL_PAGES_BEFORE_CHECKPOINT, incrementalVacuum: true, exclusive: true });
    } catch (error) {
      if (/database is locked|SQLITE_BUSY/i.test(messageOf(error))) {
        throw new StartError("busy", `the cache ${this.#cache} is in use by another wsd; give each mount its own --cache`);
      }
      throw error;
    }
  }

  #openReplica(): WorkspaceFs {
    return new WorkspaceFs(this.#database, {
      deferChunkFrees: true,
      // Searches go to the workspace, not to the replica: no index to keep here (and no pending rows).
      contentIndex: false,
      onChange: () => {
        this.#housekeeper.poke();
        this.#status?.update({});
        this.#pushes.changed();
      },
    });
  }

  /** Connects, retrying with backoff; the `first` connect's failure is the caller's (start rejects). */
  async #connect(first = false): Promise<void> {
    let backoffMs = this.#timing.backoffFirstMs;
    while (!this.#stopping) {
      try {
        await this.#openSession();
        return;
      } catch (error) {
        if (first) throw error;
        if (isFsError(error, "ESTALE")) {
          // The workspace was reset under a live mount: the replica cannot follow it in place.
          this.#log(`${error.message}; stopping, with this replica's changes kept in ${this.#cache}: mount again to start from the new workspace`);
          // stop() reports through `ended`; the reconnect loop ends here.
          void this.stop();
          return;
        }
        this.#log(`cannot reach ${this.#base} (${messageOf(error)}); retrying in ${backoffMs / 1000} s`);
        await this.#waitBeforeRetry(backoffMs);
        backoffMs = Math.min(backoffMs * 2, this.#timing.backoffMaxMs);
      }
    }
  }

  async #openSession(): Promise<void> {
    const cursor = this.#replica.cursor("pulled");
    let session: SyncClient | undefined;
    session = this.#client = await SyncClient.connect({
      url: this.#base,
      token: this.#options.token,
      replica: this.#replica,
      info: { name: this.#name, exec: this.#exec, mountpoint: resolve(this.#options.mountpoint) },
      commands: this.#exec ? this.#commands : undefined,
      isHeld: (path) => this.#beingWritten(path),
      isLocal: (path, type) => this.#localPaths.isLocal(path, type),
      contentOnDemand: !this.#options.prefetch,
      fetchAlways: (path) => path === LOCAL_PATHS_FILE,
      beforeApply: () => this.#mounted?.adapter.settle(),
      onPulled: (rev, paths) => {
        this.#commands.pulled(paths);
        this.#housekeeper.poke();
        this.#status?.update({ rev });
        if (this.#options.verbose) this.#log(`pulled rev ${rev}: ${paths.join(", ")}`);
      },
      onConflict: (found) => {
        this.#conflicts += found.length;
        this.#status?.update({ conflicts: this.#conflicts });
        for (const { path, keptAs } of found) {
          this.#log(`conflict: ${path} changed on both sides; the workspace's version stays${keptAs ? `, this sandbox's is kept as ${keptAs}` : ""}`);
        }
      },
      onBroken: (error) => {
        if (this.#stopping || session === undefined || this.#client !== session) return;
        this.#log(`disconnected: ${messageOf(error)}; serving the replica, reconnecting`);
        this.#client = undefined;
        this.#commands.killAll();
        this.#status?.update({ state: "reconnecting" });
        // The loop logs each failed try itself and ends only when connected or stopping.
        void this.#reconnect();
      },
    });
    if (this.#stopping) {
      // stop() ran while this session was opening: it must not outlive the daemon.
      session.close();
      this.#client = undefined;
      return;
    }
    try {
      await session.push();
    } catch (error) {
      // A session that cannot take the first push is not kept: the next try opens a new one, and
      // a stale one must not stay attached to the workspace (exec would pick it).
      session.close();
      this.#client = undefined;
      throw error;
    }
    this.#log(
      `${cursor === 0 ? "connected to" : "resumed"} ${this.#base} at rev ${this.#client.cursor} (${this.#client.chunksReceived} chunks fetched, ${this.#client.chunksSent} sent)`,
    );
    this.#status?.update({ state: "connected", rev: this.#client.cursor });
  }

  #reconnect(): Promise<void> {
    this.#reconnecting ??= this.#connect().finally(() => {
      this.#reconnecting = undefined;
    });
    return this.#reconnecting;
  }

  #waitBeforeRetry(ms: number): Promise<void> {
    return new Promise((done) => {
      const wake = () => {
        clearTimeout(this.#retryWait?.timer);
        this.#retryWait = undefined;
        done();
      };
      this.#retryWait = { timer: setTimeout(wake, ms), wake };
    });
  }
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? "" : "s"}`;
