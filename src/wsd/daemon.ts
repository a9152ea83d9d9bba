import { resolve } from "node:path";
import type { WorkspaceFs } from "../workspace-do/engine.ts";
import { messageOf } from "../workspace-do/errors.ts";
import { MountCommands } from "./commands.ts";
import type { CommandUser } from "./exec.ts";
import { fuseMounts } from "./fuse-binding.ts";
import { ATTRIBUTE_CACHE_SECONDS, type MountedWorkspace, mountWorkspace } from "./mount.ts";
import { checkServer, lookUpUser, prepareMountpoint, StartError } from "./preflight.ts";
import { ReplicaSync } from "./replica-sync.ts";
import { PENDING_COUNTED, StatusFile, type StopSummary } from "./status.ts";
import { type DaemonTiming, DEFAULT_TIMING } from "./timing.ts";
import { defaultCacheDirectory, parseWorkspaceUrl } from "./workspace-url.ts";

export { defaultCacheDirectory, parseWorkspaceUrl };

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
  readonly #log: (line: string) => void;
  /** The replica and its sync, shared in kind with the Node VFS (src/wsd/replica-sync.ts). */
  readonly #sync: ReplicaSync;
  readonly #mountCheckMs: number;
  #mounted: MountedWorkspace | undefined;
  #status: StatusFile | undefined;
  #stopping = false;
  readonly #commands: MountCommands;
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
    const timing = { ...DEFAULT_TIMING, ...options.timing };
    this.#mountCheckMs = timing.mountCheckMs;
    this.#log = options.log ?? ((line) => console.log(`wsd: ${line}`));
    this.#ended = new Promise((resolve) => (this.#end = resolve));
    const exec = options.exec ?? true;
    this.#commands = new MountCommands({
      replica: () => this.#sync.replica,
      mountpoint: () => (this.#mountLost ? undefined : this.#mounted?.mountpoint),
      settle: () => this.#mounted?.adapter.settle(),
      pulled: (paths) => this.#mounted?.adapter.pulled(paths) ?? Promise.resolve(),
      log: options.verbose ? this.#log : undefined,
      user: () => this.#commandUser,
    });
    this.#sync = new ReplicaSync({
      url: this.#base,
      token: options.token,
      cache: this.#cache,
      info: { name: options.name ?? "wsd", exec, mountpoint: resolve(options.mountpoint) },
      commands: exec ? this.#commands : undefined,
      local: options.local,
      cacheMaxBytes: options.cacheMaxBytes,
      prefetch: options.prefetch,
      verbose: options.verbose,
      log: this.#log,
      timing,
      onPulled: (_rev, paths) => this.#commands.pulled(paths),
      onBroken: () => this.#commands.killAll(),
      onStatus: (update) => this.#status?.update(update),
    });
    // stop() reports through `ended`.
    void this.#sync.reset.then(() => this.stop());
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
    return this.#sync.connected;
  }

  /** The workspace revision the replica holds. */
  get revision(): number {
    return this.#sync.revision;
  }

  /** The replica the mount serves (tests look inside; a reset workspace replaces it). */
  get replica(): WorkspaceFs {
    return this.#sync.replica;
  }

  /** True while any of the daemon's timers is set: after `stop()`, false. */
  get timersPending(): boolean {
    return this.#sync.timersPending || this.#mountCheck !== undefined;
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
    await this.#sync.start();
    try {
      this.#mounted = await mountWorkspace(this.#sync.replica, mountpoint, {
        readOnly: this.#options.readOnly,
        attributeCacheSeconds: this.#options.attributeCacheSeconds,
        trace: this.#options.verbose ? this.#log : undefined,
        onReleased: () => this.#sync.released(),
        crossesDevice: (from, to, type) => this.#sync.localPaths.crossesBoundary(from, to, type),
        ensureContent: (path) => this.#sync.ensureContent(path),
        onFsync: (path) => this.#sync.pushed(path),
      });
    } catch (error) {
      throw new StartError("fuse", `cannot mount ${mountpoint}: ${messageOf(error)}`);
    }
    const adapter = this.#mounted.adapter;
    this.#sync.attach({
      writerActiveAt: (path) => adapter.writerActiveAt(path),
      openPaths: () => adapter.openPaths(),
      settle: () => adapter.settle(),
      lastRequestAt: () => adapter.lastRequestAt(),
    });
    this.#log(`mounted ${this.#base} at ${this.#mounted.mountpoint} (replica in ${this.#cache})`);
    this.#status = new StatusFile(
      {
        url: this.#base,
        mountpoint: this.#mounted.mountpoint,
        cache: this.#cache,
        name: this.#options.name ?? "wsd",
        exec: this.#options.exec ?? true,
        state: this.#sync.connected ? "connected" : "reconnecting",
        rev: this.revision,
        conflicts: this.#sync.conflicts,
      },
      () => this.#sync.pending(PENDING_COUNTED),
    );
    this.#mountCheck = setInterval(() => {
      this.#checkMount().catch((error: unknown) => this.#log(`checking the mount: ${messageOf(error)}`));
    }, this.#mountCheckMs);
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
    this.#commands.killAll();
    try {
      await this.#mounted?.unmount();
    } catch (error) {
      // A mount already taken away from outside cannot be unmounted again; its writes were landed.
      this.#log(`unmount: ${messageOf(error)}`);
    }
    const summary = await this.#sync.stop();
    this.#status?.finish(summary);
    if (this.#mounted) {
      const { kept } = summary;
      const keptNote = kept > 0 ? `; ${plural(kept, "change")} kept in the replica (${this.#cache}) for the next mount` : "";
      this.#log(`unmounted ${this.#mounted.mountpoint}; pushed ${plural(summary.pushed, "change")}${keptNote}`);
    }
    this.#end(summary);
    return summary;
  }

  async #checkMount(): Promise<void> {
    const mountpoint = this.#mounted?.mountpoint;
    if (this.#stopping || mountpoint === undefined) return;
    if ((await fuseMounts()).some((entry) => entry.mountpoint === mountpoint)) return;
    this.#mountLost = true;
    this.#log(`the mount at ${mountpoint} was taken away (unmounted from outside); pushing what is left and stopping`);
    await this.stop();
  }
}

export const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? "" : "s"}`;
