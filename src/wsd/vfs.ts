/**
 * `workspace-fs/vfs`: a workspace inside a Node process, with no FUSE. The replica and its live
 * sync are wsd's (the same engine on node:sqlite, the same push and pull rules and conflict
 * handling as the mount); Node's virtual file system (`@platformatic/vfs` on Node 22) serves it
 * under a mount point to `node:fs`, `require` and `import`. Needs Node ≥ 22.15.
 *
 * ```ts
 * import { mountWorkspaceVfs } from "workspace-fs/vfs";
 * const ws = await mountWorkspaceVfs({ url: "https://example.com/w/docs", token });
 * fs.writeFileSync(`${ws.mountPoint}/notes.md`, "synced on close\n");
 * await ws.close(); // pushes what is left, then stops
 * ```
 */
import { hostname } from "node:os";
import { resolve } from "node:path";
import { create } from "@platformatic/vfs";
import { ReplicaSync } from "./replica-sync.ts";
import type { StopSummary } from "./status.ts";
import { type DaemonTiming, DEFAULT_TIMING } from "./timing.ts";
import { vfsCacheDirectory } from "./vfs-env.ts";
import { routeFsWrites } from "./vfs-fs-routes.ts";
import { WorkspaceProvider } from "./vfs-provider.ts";
import { type PathChange, WatchHub } from "./vfs-watch.ts";
import { parseWorkspaceUrl } from "./workspace-url.ts";

/** How {@link mountWorkspaceVfs} reaches and mounts one workspace. */
export interface WorkspaceVfsOptions {
  /** The workspace, `http(s)://host/w/<workspace>`. */
  url: string;
  /** The bearer token: the server's secret or the workspace's scoped token. */
  token?: string;
  /** The replica's folder. Default: {@link vfsCacheDirectory} (not the mount's). */
  cache?: string;
  /** Where the workspace appears to `node:fs`, `require` and `import`. Default `/wsd/<workspace>`. */
  mountPoint?: string;
  /** How this replica introduces itself to the workspace. Default `vfs@<host name>`. */
  name?: string;
  /** Where log lines go (connects, conflicts, reconnects). Default: standard error, prefixed `wsd: `. */
  log?: (line: string) => void;
  /** The sync's intervals; tests shorten them. Default {@link DEFAULT_TIMING}. */
  timing?: Partial<DaemonTiming>;
}

/** A mounted workspace: where it is, and how to stop. */
export interface WorkspaceVfs {
  /** The absolute path the workspace is served under. */
  mountPoint: string;
  /** Whether the sync session is up (the VFS keeps serving the replica while it reconnects). */
  readonly connected: boolean;
  /**
   * Lands open files, unmounts, pushes what is left (waiting at most 5 s for a server that does
   * not answer: the rest stays in the replica for the next mount) and stops. Runs by itself when
   * the process would otherwise end; answers what the last push sent and what stays.
   */
  close(): Promise<StopSummary>;
}

/**
 * Connects to the workspace (fetching the whole tree and its content into the replica, so the
 * synchronous `node:fs` calls never wait for the network), then mounts it. Rejects if the
 * workspace cannot be reached; after that the session reconnects by itself. Neither the session
 * nor its timers keep the process alive: when the program's own work is done, the mount closes
 * itself and pushes. A `process.exit()` leaves unpushed changes in the replica: the next mount
 * of the same cache (or `wsd run --vfs`, which does it for the program it runs) pushes them.
 */
export async function mountWorkspaceVfs(options: WorkspaceVfsOptions): Promise<WorkspaceVfs> {
  const { base, name } = parseWorkspaceUrl(options.url);
  const mountPoint = resolve(options.mountPoint ?? `/wsd/${name}`);
  const log = options.log ?? ((line: string) => console.error(`wsd: ${line}`));
  const watches = new WatchHub();
  let heard = 0;
  const sync = new ReplicaSync({
    url: base,
    token: options.token,
    cache: resolve(options.cache ?? vfsCacheDirectory(options.url)),
    info: { name: options.name ?? `vfs@${hostname()}`, exec: false, mountpoint: mountPoint },
    prefetch: true,
    log,
    timing: { ...DEFAULT_TIMING, ...options.timing },
    holdsProcess: false,
    // fs.watch hears local commits from the replica's own change log, and pulls as they apply.
    onChange: () => {
      if (!watches.listening) return;
      const page = sync.replica.changesSince(heard, { limit: Number.MAX_SAFE_INTEGER });
      heard = page.rev;
      watches.changed(page.entries.map((entry): PathChange => ({ path: entry.path, eventType: entry.deleted ? "rename" : "change" })));
    },
    onPulled: (_rev, paths) =>
      watches.changed(paths.map((path): PathChange => ({ path, eventType: sync.replica.exists(path, { followSymlink: false }) ? "change" : "rename" }))),
  });
  try {
    await sync.start();
  } catch (error) {
    await sync.stop();
    throw error;
  }
  heard = sync.replica.rev;
  const provider = new WorkspaceProvider(sync.replica, {
    mountPoint,
    onReleased: () => sync.released(),
    onFsync: (path) => sync.pushed(path),
    crossesDevice: (from, to, type) => sync.localPaths.crossesBoundary(from, to, type),
    watches,
  });
  sync.attach(provider);
  const vfs = create(provider, { moduleHooks: true });
  vfs.mount(mountPoint);
  const unroute = routeFsWrites(provider, mountPoint);

  // A program that calls process.exit(): its open files land in the replica, pushed next time.
  const landOnExit = () => provider.settle();
  let closing: Promise<StopSummary> | undefined;
  const close = () => {
    closing ??= (async () => {
      process.off("beforeExit", closeOnEnd);
      process.off("exit", landOnExit);
      unroute();
      provider.settle();
      vfs.unmount();
      return sync.stop();
    })();
    return closing;
  };
  const closeOnEnd = () => void close().catch((error: unknown) => log(`closing: ${error instanceof Error ? error.message : String(error)}`));
  process.once("beforeExit", closeOnEnd);
  process.once("exit", landOnExit);
  void sync.reset.then(close);
  return {
    mountPoint,
    get connected() {
      return sync.connected;
    },
    close,
  };
}
