import { defaultCacheDirectory } from "./workspace-url.ts";

/** The environment through which `wsd run --vfs` tells its preload what to mount (src/wsd/vfs-preload.ts). */
export const VFS_ENV = { url: "WSD_VFS_URL", cache: "WSD_VFS_CACHE", mountPoint: "WSD_VFS_MOUNT_POINT", verbose: "WSD_VFS_VERBOSE" } as const;

/**
 * The VFS's replica unless told otherwise: wsd's default cache of the workspace with `-vfs`
 * appended. Not the mount's: a mount's replica fetches content when a file is opened, which
 * the VFS's synchronous reads cannot wait for.
 */
export const vfsCacheDirectory = (workspaceUrl: string): string => `${defaultCacheDirectory(workspaceUrl)}-vfs`;
