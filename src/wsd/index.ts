/**
 * `workspace-fs/wsd`: wsd as a library. Mount a workspace with {@link WsdDaemon} (it keeps a
 * replica, syncs both ways and reconnects), stop it, and read the status of every mount of this
 * user with {@link readStatuses}. Needs Node ≥ 22.12, `/dev/fuse` and the right to mount.
 *
 * ```ts
 * import { WsdDaemon } from "workspace-fs/wsd";
 * const daemon = new WsdDaemon({ url: "https://example.com/w/docs", mountpoint: "/workspace", token });
 * await daemon.start();
 * console.log(daemon.connected, daemon.revision);
 * await daemon.stop();
 * ```
 */

export { defaultCacheDirectory, parseWorkspaceUrl, WsdDaemon, type WsdDaemonOptions } from "./daemon.ts";
export { unmount } from "./fuse-binding.ts";
export { ATTRIBUTE_CACHE_SECONDS } from "./mount.ts";
export { type MountStatus, readStatuses, statusLines } from "./status.ts";
export { type DaemonTiming, DEFAULT_TIMING } from "./timing.ts";
