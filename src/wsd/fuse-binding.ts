/**
 * The patched fuse-native (libfuse 2.9 high-level API), loaded so it works without a system
 * libfuse, with the types fuse-native lacks. `npm install` builds the patched binary
 * (scripts/build-fuse.mjs, patches/fuse-native+2.2.6.patch); this module refuses anything else.
 *
 * Loading: fuse.node needs `libfuse.so.2`. Before loading it this module dlopens Debian's
 * libfuse2 by that name when it is installed, else the libfuse.so bundled in
 * fuse-shared-library-linux (soname libfuse.so.2), RTLD_GLOBAL | RTLD_NODELETE: Node's
 * process.dlopen rejects a library that is not an addon and closes it, NODELETE keeps it mapped,
 * and the loader then satisfies fuse.node's dependency by soname. No environment is needed.
 *
 * Conventions of fuse-native (kept): results are 0 or a negative errno; times in whole ms since
 * the epoch; read/write buffers are detached after the callback (copy them at once); an
 * exception thrown in a handler kills the process (guard every handler).
 * Patched: utimens gets atime and mtime, each ms, `null` = leave unchanged (UTIME_OMIT),
 * "now" already resolved; {@link callerContext} tells who made the current request; fallocate
 * is dispatched.
 * Mode/umask: libfuse 2 does not ask for FUSE_CAP_DONT_MASK, so the kernel has already applied
 * the caller's umask to the mode create/mkdir/mknod receive; store it as given.
 *
 * The serving process must never wait on its own mount: no sync fs calls on it, and no child
 * spawned with `cwd` inside it (spawn blocks until the child has exec'd; the child's chdir waits
 * on FUSE). Serve from the main thread only: fuse-native dispatches on libuv's default loop.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

/** fuse-native's answer: 0 or a negative errno (see {@link errno}). */
export type FuseCallback = (code: number) => void;
export type FuseResultCallback<T> = (code: number, result?: T) => void;

/** Times are ms since the epoch or Dates; missing ones read as "now", missing numbers as 0. */
export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink?: number;
  ino?: number;
  dev?: number;
  rdev?: number;
  blksize?: number;
  blocks?: number;
  atime: number | Date;
  mtime: number | Date;
  ctime: number | Date;
}

/** Every field is sent as an unsigned 32-bit number. */
export interface FuseStatfs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

/**
 * The operations fuse-native dispatches (those present are registered with libfuse). Paths are
 * mount-relative and start with "/". `fgetattr` is left out: fuse-native answers it with
 * `getattr`. read/write answer with the byte count or a negative errno.
 */
export interface FuseOps {
  init?(cb: FuseCallback): void;
  statfs?(path: string, cb: FuseResultCallback<FuseStatfs>): void;
  getattr?(path: string, cb: FuseResultCallback<FuseStat>): void;
  access?(path: string, mode: number, cb: FuseCallback): void;
  /** Stats are ignored by fuse-native: names only. */
  readdir?(path: string, cb: FuseResultCallback<string[]>): void;
  open?(path: string, flags: number, cb: FuseResultCallback<number>): void;
  opendir?(path: string, flags: number, cb: FuseResultCallback<number>): void;
  /** `mode` already has the caller's umask applied (see the module comment). */
  create?(path: string, mode: number, cb: FuseResultCallback<number>): void;
  read?(path: string, fd: number, buf: Buffer, len: number, position: number, cb: (bytesOrErrno: number) => void): void;
  write?(path: string, fd: number, buf: Buffer, len: number, position: number, cb: (bytesOrErrno: number) => void): void;
  flush?(path: string, fd: number, cb: FuseCallback): void;
  fsync?(path: string, datasync: number, fd: number, cb: FuseCallback): void;
  fsyncdir?(path: string, datasync: number, fd: number, cb: FuseCallback): void;
  release?(path: string, fd: number, cb: FuseCallback): void;
  releasedir?(path: string, fd: number, cb: FuseCallback): void;
  truncate?(path: string, size: number, cb: FuseCallback): void;
  ftruncate?(path: string, fd: number, size: number, cb: FuseCallback): void;
  /** ms since the epoch; `null` = leave that time unchanged (UTIME_OMIT). */
  utimens?(path: string, atime: number | null, mtime: number | null, cb: FuseCallback): void;
  /** -1 (as 0xffffffff) = leave unchanged. */
  chown?(path: string, uid: number, gid: number, cb: FuseCallback): void;
  chmod?(path: string, mode: number, cb: FuseCallback): void;
  /** `mode` holds the type bits (S_IFIFO…) and the permission bits, umask applied; `dev` is the kernel's 32-bit device number. */
  mknod?(path: string, mode: number, dev: number, cb: FuseCallback): void;
  /** Patched in: `mode` is fallocate(2)'s (0, FALLOC_FL_KEEP_SIZE…). */
  fallocate?(path: string, fd: number, mode: number, offset: number, length: number, cb: FuseCallback): void;
  mkdir?(path: string, mode: number, cb: FuseCallback): void;
  rmdir?(path: string, cb: FuseCallback): void;
  unlink?(path: string, cb: FuseCallback): void;
  rename?(src: string, dest: string, cb: FuseCallback): void;
  link?(src: string, dest: string, cb: FuseCallback): void;
  symlink?(target: string, path: string, cb: FuseCallback): void;
  readlink?(path: string, cb: FuseResultCallback<string>): void;
  setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: FuseCallback): void;
  /** Answer with the value, or no value for ENODATA. */
  getxattr?(path: string, name: string, position: number, cb: FuseResultCallback<Buffer>): void;
  listxattr?(path: string, cb: FuseResultCallback<string[]>): void;
  removexattr?(path: string, name: string, cb: FuseCallback): void;
}

/** fuse-native's mount options (each becomes a libfuse `-o` option). */
export interface FuseOptions {
  /** Unmount a dead mount (ENOTCONN) at the mountpoint before mounting. */
  force?: boolean;
  /** Create the mountpoint. */
  mkdir?: boolean;
  /** Per-op timeout in ms answering ETIMEDOUT (default 15 s), `false` for none, or per op name. */
  timeout?: number | false | Record<string, number | false>;
  debug?: boolean;
  allowOther?: boolean;
  allowRoot?: boolean;
  autoUnmount?: boolean;
  defaultPermissions?: boolean;
  /** Goes into `-o` verbatim: `"wsd,big_writes"` passes any libfuse option (see {@link mount}). */
  fsname?: string;
  subtype?: string;
  kernelCache?: boolean;
  autoCache?: boolean;
  maxRead?: number;
  blksize?: number;
  entryTimeout?: number;
  attrTimeout?: number;
  acAttrTimeout?: number;
  noforget?: boolean;
  remember?: number;
  umask?: number;
  uid?: number;
  gid?: number;
}

/** A fuse-native filesystem. Callbacks get `null` or an Error. */
export interface FuseInstance {
  readonly mnt: string;
  readonly opts: FuseOptions;
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
}

export interface FuseClass {
  new (mountpoint: string, ops: FuseOps, opts?: FuseOptions): FuseInstance;
  /** Replaced here by {@link unmount} (fuse-native's runs `fusermount`, not on PATH). */
  unmount(mountpoint: string, cb: (err: Error | null) => void): void;
}

/** Who made the request being served. `umask` is set for create/mkdir/mknod only (else 0). */
export interface CallerContext {
  uid: number;
  gid: number;
  pid: number;
  umask: number;
  /**
   * The kernel request being served ({@link KERNEL_OP}): libfuse answers several with a
   * getattr of the path, which this tells apart (a getattr made to answer a SETATTR carries 4).
   */
  opcode: number;
}

/** Kernel FUSE opcodes wsd tells apart (linux/fuse.h). */
export const KERNEL_OP = { setattr: 4, link: 13 } as const;

interface PatchedBinding {
  wsd_patch_level?: number;
  fuse_native_context?: () => CallerContext | null;
  fuse_native_invalidate_attrs?: (thread: Buffer, ino: number) => number;
  fuse_native_invalidate_entries?: (thread: Buffer, parents: number[], names: string[], contents: number[], done: () => void) => void;
}

const PATCH_LEVEL = 4; // wsd_patch_level in patches/fuse-native+2.2.6.patch
const RTLD_NODELETE = 0x1000; // glibc; not in os.constants.dlopen

const require = createRequire(import.meta.url);
const fuseDir = dirname(require.resolve("fuse-native/package.json"));
const libfuseDir = join(dirname(require.resolve("fuse-shared-library-linux/package.json")), "libfuse");
const execFileAsync = promisify(execFile);

/** The libfuse that was preloaded: "libfuse.so.2" (the system's) or the bundled file's path. */
export const libfuse: string = preloadLibfuse();

const binding = loadBinding();

/** The fuse-native class (patched). Construct it, then `mount`; or use {@link mount}. */
export const Fuse: FuseClass = require("fuse-native");
Fuse.unmount = (mountpoint, cb) => void unmount(mountpoint).then(() => cb(null), cb);

function preloadLibfuse(): string {
  const flags = constants.dlopen.RTLD_NOW! | constants.dlopen.RTLD_GLOBAL! | RTLD_NODELETE;
  const errors: string[] = [];
  for (const lib of ["libfuse.so.2", join(libfuseDir, "lib", "libfuse.so")]) {
    try {
      process.dlopen({ exports: {} }, lib, flags);
      return lib;
    } catch (err) {
      const message = (err as Error).message;
      if (message.includes("did not self-register")) return lib; // loaded, and kept by NODELETE
      errors.push(message);
    }
  }
  throw new Error(`fuse-binding: cannot load libfuse: ${errors.join("; ")}`);
}

function loadBinding(): PatchedBinding {
  const file = join(fuseDir, "build", "Release", "fuse.node"); // node-gyp-build loads this path too
  let loaded: PatchedBinding;
  try {
    loaded = require(file) as PatchedBinding;
  } catch (err) {
    throw new Error(`fuse-binding: ${file} does not load (${(err as Error).message}); run \`npm run postinstall\``);
  }
  if (loaded.wsd_patch_level !== PATCH_LEVEL || typeof loaded.fuse_native_invalidate_entries !== "function") {
    throw new Error(`fuse-binding: ${file} is not patched (level ${loaded.wsd_patch_level}); run \`npm run postinstall\``);
  }
  return loaded;
}

/**
 * The caller of the FUSE request whose handler is running. Valid only synchronously inside a
 * handler (capture it before any await or callback); throws elsewhere.
 */
export function callerContext(): CallerContext {
  const ctx = binding.fuse_native_context!();
  if (!ctx) throw new Error("callerContext() called outside a FUSE handler");
  return ctx;
}

/**
 * What the kernel caches for a mount (attributes, names, pages), dropped when wsd changes a file
 * behind the name the kernel asked through: a pull, or another name of a hard link. Addressed
 * by inode number: the patched binding learns the kernel's nodes of each from its replies.
 * Does nothing before `attach` and after the unmount.
 */
export class KernelCache {
  #thread: Buffer | undefined;

  /** The mounted instance whose cache this drops. */
  attach(instance: FuseInstance): void {
    this.#thread = (instance as unknown as { _thread: Buffer | null })._thread ?? undefined;
  }

  /**
   * Drops the attributes the kernel holds for every name of inode `ino`, before this returns:
   * it takes no lock a request may hold, so it is safe inside a handler, before its answer.
   */
  invalidateAttributes(ino: number): void {
    if (this.#thread) binding.fuse_native_invalidate_attrs!(this.#thread, ino);
  }

  /**
   * Drops `names` (each a directory's inode number and a name in it) and the cached pages of
   * the files `contents`; resolves once the kernel has. Runs off this thread: both take locks
   * that a request waiting for this thread may hold, so never wait for it inside a handler.
   */
  invalidate(names: [number, string][], contents: number[]): Promise<void> {
    const thread = this.#thread;
    if (!thread || (names.length === 0 && contents.length === 0)) return Promise.resolve();
    return new Promise((resolve) =>
      binding.fuse_native_invalidate_entries!(
        thread,
        names.map(([parent]) => parent),
        names.map(([, name]) => name),
        contents,
        resolve,
      ),
    );
  }
}

/** The negative errno fuse-native expects, e.g. `errno("ENOENT")` is -2. */
export function errno(name: keyof typeof constants.errno): number {
  return -constants.errno[name];
}

/**
 * Unmounts lazily (like `fusermount -uz`). Given the {@link FuseInstance} this process serves,
 * it also releases fuse-native's hold on the event loop (else the process never exits); given
 * a path (e.g. a dead mount: ENOTCONN), it only detaches it, with the bundled fusermount, else
 * `umount -l` (root). Resolves once the mount is gone from the namespace (at once if it was).
 */
export async function unmount(target: string | FuseInstance): Promise<void> {
  if (typeof target !== "string") {
    return new Promise((resolve, reject) => target.unmount((err) => (err ? reject(err) : resolve())));
  }
  // Already gone (someone ran umount -l): nothing to detach, and fuse-native must still go on
  // to release its hold on the event loop.
  if (!(await fuseMounts()).some((entry) => entry.mountpoint === target)) return;
  try {
    await execFileAsync(join(libfuseDir, "bin", "fusermount"), ["-uz", target], { timeout: 10_000 });
  } catch (fusermountError) {
    try {
      await execFileAsync("umount", ["-l", target], { timeout: 10_000 });
    } catch {
      throw fusermountError;
    }
  }
}

/** The FUSE mounts of this machine (`/proc/mounts`): source, mountpoint and type of each. */
export async function fuseMounts(): Promise<{ source: string; mountpoint: string }[]> {
  const lines = (await readFile("/proc/mounts", "utf8")).split("\n").map((line) => line.split(" "));
  // /proc/mounts escapes spaces and other specials in octal.
  const unescapeOctal = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return lines.filter(([, , type]) => type?.startsWith("fuse")).map(([source, target]) => ({ source: source!, mountpoint: unescapeOctal(target!) }));
}

/**
 * Mounts `ops` at `mountpoint` and resolves once the kernel has sent INIT. `rawOptions` are
 * libfuse options fuse-native has no flag for (e.g. "big_writes", "negative_timeout=60"):
 * they travel in `fsname` (default "wsd"), which fuse-native passes into `-o` verbatim.
 */
export async function mount(mountpoint: string, ops: FuseOps, opts: FuseOptions & { rawOptions?: string[] } = {}): Promise<FuseInstance> {
  const { rawOptions = [], ...rest } = opts;
  const fsname = [rest.fsname ?? "wsd", ...rawOptions].join(",");
  const fuse = new Fuse(mountpoint, ops, { ...rest, fsname });
  await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
  return fuse;
}
