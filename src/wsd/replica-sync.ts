import { mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { WsdInfo } from "../wire/sync.ts";
import { WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError, isFsError, messageOf } from "../workspace-do/errors.ts";
import { type NodeSql, openNodeSql } from "../workspace-do/sql-node.ts";
import { chunksNamed } from "../workspace-do/sync.ts";
import { Housekeeper } from "./housekeeper.ts";
import { LOCAL_PATHS_FILE, LocalPaths } from "./local-paths.ts";
import { MAX_PENDING_BYTES } from "./open-files.ts";
import { PushScheduler } from "./push-scheduler.ts";
import { StartError } from "./start-error.ts";
import { type CommandRunner, HELD, SyncClient } from "./sync-client.ts";
import type { DaemonTiming } from "./timing.ts";

/** What the replica is served through (the FUSE mount, or the Node VFS): its open files, as sync must see them. */
export interface ReplicaView {
  /** When a writer on `path` was last at work, or undefined when none has it open ({@link OpenFiles.writerActiveAt}). */
  writerActiveAt(path: string): number | undefined;
  /** The paths of the open files (their content stays in the replica). */
  openPaths(): string[];
  /** Lands every buffered write. */
  settle(): void;
  /** When it last served a request (ms since the epoch): housekeeping waits for a pause in reads too. */
  lastRequestAt?(): number;
}

/** How a {@link ReplicaSync} keeps one workspace's replica (the options wsd's mount and the VFS share). */
export interface ReplicaSyncOptions {
  /** The workspace's base URL, `http(s)://host/w/<workspace>`. */
  url: string;
  token?: string;
  /** The replica's folder (made if missing). */
  cache: string;
  /** How this replica introduces itself to the object. */
  info: WsdInfo;
  /** Runs the object's exec calls (the mount's); without it they are refused. */
  commands?: CommandRunner;
  /** Paths kept in the replica only, besides `/.wsdignore` ({@link LocalPaths}). */
  local?: string[];
  /** The most content bytes the replica keeps (see `WsdDaemonOptions.cacheMaxBytes`). */
  cacheMaxBytes?: number;
  /** Fetch every file's content on connect, instead of when a file is first opened. */
  prefetch?: boolean;
  verbose?: boolean;
  log: (line: string) => void;
  timing: DaemonTiming;
  /** False: neither the session nor a timer keeps the process alive. Default true. */
  holdsProcess?: boolean;
  /** A pulled page was applied: the new revision and the paths it changed. */
  onPulled?: (rev: number, paths: string[]) => void;
  /** A local change committed in the replica. */
  onChange?: () => void;
  /** The session broke (a reconnect is under way). */
  onBroken?: () => void;
  /** Something `wsd status` shows changed. */
  onStatus?: (update: { rev?: number; conflicts?: number; state?: "connected" | "reconnecting" }) => void;
}

/** Chunks whose bytes one housekeeping slice drops over the cache limit (up to 16 MiB at the default chunk size). */
const EVICTED_PER_SLICE = 64;

/** Twice the largest write run: a run's transaction never spills pages before its commit. */
const PAGE_CACHE_BYTES = 2 * MAX_PENDING_BYTES;

/** The replica's WAL is copied into the database once it holds this many pages (256 MiB), or when idle. */
const WAL_PAGES_BEFORE_CHECKPOINT = 65_536;
/**
 * The WAL file kept after a checkpoint, for the next writes to go over (src/wsd/housekeeper.ts).
 * Twice a 64 MiB write: a 64 MiB limit cut back the WAL of such a write (a little over it), and
 * the next one grew it again (measured: no gain).
 */
const WAL_KEPT_BYTES = 128 * 1024 * 1024;

/**
 * One workspace's replica kept in sync: the local database and its engine, the capnweb session
 * (reconnected with doubling backoff while the replica keeps serving), the push rules (every
 * commit pushed, a file whose writer is at work held back until it is closed, failed pushes
 * retried), housekeeping and the local-only paths. wsd's FUSE mount and the Node VFS are two
 * views over it: each hands in its open files ({@link ReplicaView}) and gets the same sync.
 * `start()` connects (pulling what the replica lacks); `stop()` pushes what is left and lets go.
 */
export class ReplicaSync {
  readonly #options: ReplicaSyncOptions;
  readonly #timing: DaemonTiming;
  readonly #log: (line: string) => void;
  #database: NodeSql;
  #replica: WorkspaceFs;
  #client: SyncClient | undefined;
  #view: ReplicaView | undefined;
  #conflicts = 0;
  #stopping = false;
  /** The one reconnect loop, however many sessions report breaking. */
  #reconnecting: Promise<void> | undefined;
  /** The reconnect loop's wait between tries, and how to cut it short when stopping. */
  #retryWait: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined;
  readonly #pushes: PushScheduler;
  readonly #housekeeper: Housekeeper;
  readonly #localPaths: LocalPaths;
  /** Set when the workspace was reset under a live session: whoever owns this stops. */
  readonly #reset: Promise<void>;
  #onReset!: () => void;

  constructor(options: ReplicaSyncOptions) {
    this.#options = options;
    this.#timing = options.timing;
    this.#log = options.log;
    const holdsProcess = options.holdsProcess ?? true;
    mkdirSync(options.cache, { recursive: true });
    this.#database = this.#openDatabase();
    this.#replica = this.#openReplica();
    this.#pushes = new PushScheduler({
      push: () => this.#client?.push(),
      timing: this.#timing,
      log: this.#log,
      // A push makes local changes the workspace's: content they held may now be evicted.
      onPushed: () => {
        this.#options.onStatus?.({});
        if (this.#options.cacheMaxBytes !== undefined) this.#housekeeper.poke();
      },
      holdingBack: () => this.#client?.holdingBack ?? false,
      holdsProcess,
    });
    this.#housekeeper = new Housekeeper(
      () => this.#replica,
      () => this.#database,
      this.#timing,
      {
        evict: () => this.#evictSlice(),
        holdsProcess,
        lastRequestAt: () => this.#view?.lastRequestAt?.() ?? 0,
      },
    );
    this.#localPaths = new LocalPaths(() => this.#replica, options.local);
    this.#reset = new Promise((resolve) => (this.#onReset = resolve));
  }

  /** The replica (a reset workspace replaces it at start). */
  get replica(): WorkspaceFs {
    return this.#replica;
  }

  /** The replica's database (its size for `wsd status`). */
  get database(): NodeSql {
    return this.#database;
  }

  /** Whether a sync session is up. */
  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** The workspace revision the replica holds. */
  get revision(): number {
    return this.#replica.cursor("pulled");
  }

  /** Conflicts reported since start. */
  get conflicts(): number {
    return this.#conflicts;
  }

  /** The local-only paths (a rename across their boundary is EXDEV). */
  get localPaths(): LocalPaths {
    return this.#localPaths;
  }

  /** True while a timer of the push scheduler, the housekeeper or the reconnect wait is set. */
  get timersPending(): boolean {
    return this.#pushes.pending || this.#housekeeper.pending || this.#retryWait !== undefined;
  }

  /** Resolves when the workspace was reset under a live session: the owner stops (the replica cannot follow). */
  get reset(): Promise<void> {
    return this.#reset;
  }

  /**
   * Connects, pulling what the replica lacks and pushing what it holds that the workspace does
   * not. A workspace that was reset is detected: the old replica is kept aside and an empty one
   * takes its place. Rejects if this first connection fails; after that, a broken session is
   * retried with backoff.
   */
  start(): Promise<void> {
    return this.#held(this.#start());
  }

  async #start(): Promise<void> {
    try {
      await this.#connect(true);
    } catch (error) {
      if (!isFsError(error, "ESTALE")) throw error;
      const aside = join(this.#options.cache, `replica.db.orphaned-${Date.now()}`);
      this.#database.close();
      renameSync(join(this.#options.cache, "replica.db"), aside);
      this.#log(`${error.message}; the old replica is kept as ${aside}`);
      this.#database = this.#openDatabase();
      this.#replica = this.#openReplica();
      await this.#connect(true);
    }
  }

  /** The view the replica is served through, once it exists: sync holds back what its writers are at. */
  attach(view: ReplicaView): void {
    this.#view = view;
  }

  /** A writer's file was closed: it is complete for now, push it. */
  released(): void {
    this.#pushes.changed();
  }

  /**
   * Pushes what is left (waiting at most `lastPushMs` for a server that does not answer: the
   * rest stays in the replica for next time), closes the session and the replica. Answers how
   * many local changes the push sent and how many stay.
   */
  async stop(): Promise<{ pushed: number; kept: number }> {
    this.#stopping = true;
    this.#retryWait?.wake();
    this.#pushes.stop();
    this.#housekeeper.stop();
    const before = this.pending();
    let lastPushTimer: ReturnType<typeof setTimeout> | undefined;
    // A push that fails here is not retried: what it held stays in the replica for the next start.
    const lastPush = this.#client?.push().catch((error: unknown) => this.#log(`last push failed (${messageOf(error)})`));
    // This timer holds the process (even a VFS session's) until the last push is answered.
    await Promise.race([lastPush, new Promise((done) => (lastPushTimer = setTimeout(done, this.#timing.lastPushMs)))]);
    clearTimeout(lastPushTimer);
    this.#client?.close();
    this.#client = undefined;
    const kept = this.pending();
    this.#database.close();
    return { pushed: Math.max(0, before - kept), kept };
  }

  /** Local changes not in the workspace yet: those after the push cursor (counted up to `limit`), and files a push held back. */
  pending(limit = Number.MAX_SAFE_INTEGER): number {
    return this.#replica.changesSince(this.#replica.cursor("pushed"), { limit }).entries.length + this.#replica.cursors(HELD).length;
  }

  /** Fetches what the file at `path` lacks (a cold replica fetches content on first open); undefined when it lacks nothing. */
  ensureContent(path: string): Promise<void> | undefined {
    const absent = this.#replica.absentChunksOf(path);
    if (absent.length === 0) return undefined;
    const client = this.#client;
    if (!client) return Promise.reject(new FsError("EIO", path, "has content this replica has not fetched, and the workspace is not reachable now"));
    return client.fetch(absent);
  }

  /**
   * For fsync: resolves once a push that started after the file landed in the replica has
   * succeeded (the workspace holds it), waiting through a reconnect for at most `fsyncWaitMs`;
   * rejects after that, and fsync answers EIO.
   */
  pushed(path: string): Promise<void> {
    return this.#held(this.#pushed(path));
  }

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

  /**
   * Keeps the process alive until `work` settles, also when the session does not (`holdsProcess`
   * false): someone awaits it, and an unref'd socket alone would let the process end first.
   */
  async #held<T>(work: Promise<T>): Promise<T> {
    if (this.#options.holdsProcess !== false) return work;
    const alive = setInterval(() => {}, 60_000);
    try {
      return await work;
    } finally {
      clearInterval(alive);
    }
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
    const open = this.#view?.openPaths() ?? [];
    const keep = new Set(chunksNamed([...unpushed, ...[...heldBack, ...open].map((path) => this.#replica.changeOf(path))]));
    const dropped = this.#replica.evictContent(EVICTED_PER_SLICE, keep);
    return dropped > 0 && dropped < over;
  }

  /** A file whose writer was active within `openWritePushMs`: pushes hold it back (docs/02-fuse-write-model.md). */
  #beingWritten(path: string): boolean {
    const activeAt = this.#view?.writerActiveAt(path);
    return activeAt !== undefined && Date.now() - activeAt < this.#timing.openWritePushMs;
  }

  /** The replica's database, this process's alone: a second wsd on the same cache is refused. */
  #openDatabase(): NodeSql {
    try {
      return openNodeSql(join(this.#options.cache, "replica.db"), {
        walAutocheckpointPages: WAL_PAGES_BEFORE_CHECKPOINT,
        incrementalVacuum: true,
        exclusive: true,
        pageCacheBytes: PAGE_CACHE_BYTES,
        walKeepBytes: WAL_KEPT_BYTES,
      });
    } catch (error) {
      if (/database is locked|SQLITE_BUSY/i.test(messageOf(error))) {
        throw new StartError("busy", `the cache ${this.#options.cache} is in use by another wsd; give each mount its own --cache`);
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
        this.#options.onChange?.();
        this.#options.onStatus?.({});
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
          // The workspace was reset under a live session: the replica cannot follow it in place.
          this.#log(`${error.message}; stopping, with this replica's changes kept in ${this.#options.cache}: start again from the new workspace`);
          this.#onReset();
          return;
        }
        this.#log(`cannot reach ${this.#options.url} (${messageOf(error)}); retrying in ${backoffMs / 1000} s`);
        await this.#waitBeforeRetry(backoffMs);
        backoffMs = Math.min(backoffMs * 2, this.#timing.backoffMaxMs);
      }
    }
  }

  async #openSession(): Promise<void> {
    const cursor = this.#replica.cursor("pulled");
    let session: SyncClient | undefined;
    session = this.#client = await SyncClient.connect({
      url: this.#options.url,
      token: this.#options.token,
      replica: this.#replica,
      info: this.#options.info,
      commands: this.#options.commands,
      holdsProcess: this.#options.holdsProcess,
      isHeld: (path) => this.#beingWritten(path),
      isLocal: (path, type) => this.#localPaths.isLocal(path, type),
      contentOnDemand: !this.#options.prefetch,
      fetchAlways: (path) => path === LOCAL_PATHS_FILE,
      beforeApply: () => this.#view?.settle(),
      onPulled: (rev, paths) => {
        this.#options.onPulled?.(rev, paths);
        this.#housekeeper.poke();
        this.#options.onStatus?.({ rev });
        if (this.#options.verbose) this.#log(`pulled rev ${rev}: ${paths.join(", ")}`);
      },
      onConflict: (found) => {
        this.#conflicts += found.length;
        this.#options.onStatus?.({ conflicts: this.#conflicts });
        for (const { path, keptAs } of found) {
          this.#log(`conflict: ${path} changed on both sides; the workspace's version stays${keptAs ? `, this sandbox's is kept as ${keptAs}` : ""}`);
        }
      },
      onBroken: (error) => {
        if (this.#stopping || session === undefined || this.#client !== session) return;
        this.#log(`disconnected: ${messageOf(error)}; serving the replica, reconnecting`);
        this.#client = undefined;
        this.#options.onBroken?.();
        this.#options.onStatus?.({ state: "reconnecting" });
        // The loop logs each failed try itself and ends only when connected or stopping.
        void this.#reconnect();
      },
    });
    if (this.#stopping) {
      // stop() ran while this session was opening: it must not outlive the replica.
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
      `${cursor === 0 ? "connected to" : "resumed"} ${this.#options.url} at rev ${session.cursor} (${session.chunksReceived} chunks fetched, ${session.chunksSent} sent)`,
    );
    this.#options.onStatus?.({ state: "connected", rev: session.cursor });
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
      if (this.#options.holdsProcess === false) this.#retryWait.timer.unref();
    });
  }
}
