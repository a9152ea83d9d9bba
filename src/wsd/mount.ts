import type { FileType, WorkspaceFs } from "../workspace-do/engine.ts";
import { messageOf } from "../workspace-do/errors.ts";
import { callerContext, fuseMounts, KernelCache, mount, unmount } from "./fuse-binding.ts";
import { createFuseOps, type FuseAdapter } from "./fuse-ops.ts";

/**
 * How long, by default, the kernel keeps a file's attributes and a name's lookup (attr_timeout
 * and entry_timeout) without asking again. wsd drops them itself when sync or another name of a
 * hard link changes a file ({@link KernelCache}); this bounds only what that misses
 * (docs/02-fuse-write-model.md).
 */
export const ATTRIBUTE_CACHE_SECONDS = 0.2;

/** The largest write request the kernel sends (its limit: 256 pages); `dd bs=1M` is one request per block. */
const MAX_WRITE_BYTES = 1024 * 1024;

export interface MountOptions {
  /** Refuse every change with EROFS. */
  readOnly?: boolean;
  /** The kernel's attribute and entry cache, in seconds (default {@link ATTRIBUTE_CACHE_SECONDS}). */
  attributeCacheSeconds?: number;
  /** Per-operation log lines. */
  trace?: (line: string) => void;
  /** Unexpected failures (answered with EIO). Default: one line on stderr. */
  onError?: (op: string, path: string, error: unknown) => void;
  /** A handle open for writing was closed. */
  onReleased?: (path: string) => void;
  /** fsync answers once this settles (see `FuseOpsOptions.onFsync`). */
  onFsync?: (path: string) => Promise<void>;
  /** A rename this answers true for fails with EXDEV (see `FuseOpsOptions.crossesDevice`). */
  crossesDevice?: (from: string, to: string, type: FileType) => boolean;
  /** Content a file lacks, fetched before it opens (see `FuseOpsOptions.ensureContent`). */
  ensureContent?: (path: string) => Promise<void> | undefined;
}

export interface MountedWorkspace {
  mountpoint: string;
  adapter: FuseAdapter;
  /** Lands buffered writes and unmounts. */
  unmount(): Promise<void>;
}

/**
 * Mounts a workspace engine at `mountpoint` with FUSE, served from this process. The kernel
 * checks permissions against the owners and modes the engine keeps (`default_permissions`),
 * other users may enter (`allow_other`), writes arrive in pieces of up to 1 MiB (`big_writes`,
 * `max_write`: libfuse 2.9 stops at 128 KiB, the patched binding negotiates more), `st_ino`
 * is the engine's inode number, shared by every name of a hard link (`use_ino`), and a
 * file's page cache survives an open only while its size and mtime are unchanged (`auto_cache`,
 * checked at every open: `ac_attr_timeout=0`; docs/02-fuse-write-model.md).
 * Never touch the mount synchronously from this process: its callbacks run on this event loop.
 */
export async function mountWorkspace(fs: WorkspaceFs, mountpoint: string, options: MountOptions = {}): Promise<MountedWorkspace> {
  const cacheSeconds = options.attributeCacheSeconds ?? ATTRIBUTE_CACHE_SECONDS;
  const kernel = new KernelCache();
  const adapter = createFuseOps({
    fs,
    caller: callerContext,
    readOnly: options.readOnly,
    trace: options.trace,
    // One line, never a stack trace: the error's own sentence.
    onError: options.onError ?? ((op, path, error) => console.error(`wsd: ${op} ${path} failed: ${messageOf(error)}`)),
    kernel,
    onReleased: options.onReleased,
    onFsync: options.onFsync,
    crossesDevice: options.crossesDevice,
    ensureContent: options.ensureContent,
  });
  const fuse = await mount(mountpoint, adapter.ops, {
    force: true,
    mkdir: true,
    defaultPermissions: true,
    allowOther: true,
    timeout: false,
    rawOptions: [
      "big_writes",
      `max_write=${MAX_WRITE_BYTES}`,
      "use_ino",
      `attr_timeout=${cacheSeconds}`,
      `entry_timeout=${cacheSeconds}`,
      "auto_cache",
      "ac_attr_timeout=0",
    ],
  });
  kernel.attach(fuse);
  return {
    mountpoint,
    adapter,
    unmount: async () => {
      adapter.settle();
      try {
        await unmount(fuse);
      } finally {
        // fuse-native's unmount has been seen to return with the mount still there: make sure.
        if ((await fuseMounts()).some((entry) => entry.mountpoint === mountpoint)) await unmount(mountpoint);
      }
    },
  };
}
