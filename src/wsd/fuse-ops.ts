import type { FileType, Stats, WorkspaceFs } from "../workspace-do/engine.ts";
import { isFsError } from "../workspace-do/errors.ts";
import { baseName, parentOf } from "../workspace-do/paths.ts";
import { type CallerContext, type FuseOps, type FuseStat, type FuseStatfs, KERNEL_OP, type KernelCache } from "./fuse-binding.ts";
import { OpenFiles } from "./open-files.ts";

/**
 * The FUSE adapter: fuse-native's operation callbacks translated to engine calls and errno.
 * It owns no state but its open files ({@link OpenFiles}: handles and their write buffers); the
 * tree is the engine's.
 *
 * Writes are buffered per handle as one contiguous run (FUSE sends pieces of up to 1 MiB) and land in
 * the engine as one transaction when the run breaks, grows past 4 MiB, or
 * the file is flushed (close), fsync'd or looked at (getattr, read, truncate, rename…), so
 * `echo x > f && cat f` sees the new content and a 1 GiB write never sits whole in memory.
 */

export interface FuseOpsOptions {
  fs: WorkspaceFs;
  /** Who is calling (the patched binding's `callerContext`); what they create belongs to them. */
  caller: () => Pick<CallerContext, "uid" | "gid" | "opcode">;
  /**
   * What the kernel caches for the mount: dropped for the other names of a hard-linked file that
   * changed, and for what a pull changed ({@link FuseAdapter.pulled}).
   */
  kernel?: KernelCache;
  /** Refuse every change with EROFS. */
  readOnly?: boolean;
  /** Per-operation log lines (`--verbose`). */
  trace?: (line: string) => void;
  /** Where unexpected failures are reported; the operation answers EIO. */
  onError?: (op: string, path: string, error: unknown) => void;
  /** A handle open for writing was closed (its file is complete for now: push it). */
  onReleased?: (path: string) => void;
  /**
   * After an fsync landed the file in the replica: resolves once the workspace holds it. fsync
   * answers when it settles (EIO if it rejects). Without it, fsync answers once the replica has it.
   */
  onFsync?: (path: string) => Promise<void>;
  /**
   * True for a rename that would move something between two places sync treats apart (into or
   * out of the local-only paths): it fails with EXDEV, and tools such as mv copy instead.
   */
  crossesDevice?: (from: string, to: string, type: FileType) => boolean;
  /**
   * Before a file is opened: undefined when the replica holds all its content, else a promise
   * that resolves once it does (a cold mount fetches content on first open; EIO if it rejects).
   */
  ensureContent?: (path: string) => Promise<void> | undefined;
}

/** fuse-native answers errors as negative errno numbers. */
const E = { ENOENT: -2, EIO: -5, EBADF: -9, EXDEV: -18, EINVAL: -22, EFBIG: -27, EROFS: -30, EOPNOTSUPP: -95 } as const;
/** The S_IFMT bits of each type, as stat(2) and mknod(2) carry them. */
const TYPE_BITS: Record<FileType, number> = {
  fifo: 0o010000,
  "character-device": 0o020000,
  directory: 0o040000,
  "block-device": 0o060000,
  file: 0o100000,
  symlink: 0o120000,
  socket: 0o140000,
};
const S_IFMT = 0o170000;
/** fallocate(2) mode: allocate without changing the size (posix_fallocate uses mode 0). */
const FALLOC_FL_KEEP_SIZE = 0x01;
const O_ACCMODE = 0o3;
const O_RDONLY = 0;
/** chown(2) passes -1 (as an unsigned 32-bit id) for "leave unchanged". */
const UNCHANGED_ID = 0xffffffff;

type Callback<T = void> = (code: number, result?: T) => void;

/** An errno answer from inside an operation (negative, as fuse-native wants it). */
class Errno {
  readonly code: number;
  constructor(code: number) {
    this.code = code;
  }
}

export interface FuseAdapter {
  ops: FuseOps;
  /**
   * When a handle open for writing on `path` was last active (opened, written, truncated), in
   * ms, or undefined when none is open: sync holds a file back while its writer is at work, so
   * the workspace never gets it half-written (docs/02-fuse-write-model.md).
   */
  writerActiveAt(path: string): number | undefined;
  /** Open file handles (for `wsd status` and tests). */
  openFiles(): number;
  /** The paths of the open files (their content must stay in the replica). */
  openPaths(): string[];
  /** Lands every buffered write (before unmount). */
  settle(): void;
  /**
   * Sync changed `paths` in the engine: the kernel drops what it holds of them (their names,
   * attributes and cached pages). Resolves once it has: `stat` then shows the new state.
   */
  pulled(paths: string[]): Promise<void>;
  /** When the last request came (ms since the epoch; 0 before the first). */
  lastRequestAt(): number;
}

export function createFuseOps(options: FuseOpsOptions): FuseAdapter {
  const { fs, caller } = options;
  const files = new OpenFiles(fs);
  /**
   * libfuse gives each name of a hard link its own kernel inode: a change made through one name
   * leaves the others' attributes cached. Called before the change's answer goes back, so no
   * name shows the old state after it.
   */
  const changedLinked = (stats: Pick<Stats, "ino" | "nlink" | "type"> | undefined) => {
    if (stats && stats.type !== "directory" && stats.nlink > 1) options.kernel?.invalidateAttributes(stats.ino);
  };
  /** Writes to a hard-linked file landed: the other names' pages go too (a reader holding one open sees them). */
  const landedLinked = (ino: number) => {
    options.kernel?.invalidateAttributes(ino);
    void options.kernel?.invalidate([], [ino]);
  };

  const owner = () => {
    const { uid, gid } = caller();
    return { uid, gid };
  };

  /**
   * Runs one operation: FsErrors answer their errno, anything else EIO (logged), and nothing
   * thrown ever reaches fuse-native, where it would kill the process and leave a dead mount.
   */
  let lastRequestAt = 0;
  const attempt = <T>(op: string, path: string, mutates: boolean, run: () => T | Errno): T | Errno => {
    lastRequestAt = Date.now();
    options.trace?.(`${op} ${path}`);
    if (mutates && options.readOnly) return new Errno(E.EROFS);
    try {
      return run();
    } catch (error) {
      if (isFsError(error)) return new Errno(-error.errno);
      options.onError?.(op, path, error);
      return new Errno(E.EIO);
    }
  };
  /** Answers `cb(0, result)` or `cb(-errno)`. */
  const guard = <T>(op: string, path: string, cb: Callback<T>, mutates: boolean, run: () => T | Errno) => {
    const result = attempt(op, path, mutates, run);
    if (result instanceof Errno) cb(result.code);
    else cb(0, result);
  };
  /** For read and write, which answer a byte count or a negative errno in one number. */
  const guardCount = (op: string, path: string, cb: (bytesOrErrno: number) => void, mutates: boolean, run: () => number | Errno) => {
    const result = attempt(op, path, mutates, run);
    cb(result instanceof Errno ? result.code : result);
  };

  const ops = {
    init: (cb: Callback) => cb(0),
    statfs: (path: string, cb: Callback<FuseStatfs>) =>
      guard("statfs", path, cb, false, () => {
        const usage = fs.usage();
        const blocks = Math.floor(usage.maxWorkspaceBytes / 4096);
        const free = Math.max(0, blocks - Math.ceil(usage.storedBytes / 4096));
        const files = usage.files + usage.directories + usage.symlinks + usage.specialFiles;
        return {
          bsize: 4096,
          frsize: 4096,
          blocks,
          bfree: free,
          bavail: free,
          files: files + 1_000_000,
          ffree: 1_000_000,
          favail: 1_000_000,
          fsid: 0x77736400,
          flag: 0,
          namemax: 255,
        };
      }),
    getattr: (path: string, cb: Callback<FuseStat>) =>
      guard("getattr", path, cb, false, () => {
        // A file just created is answered from its handle (OpenFiles.create).
        const created = files.createdStats(path);
        if (created) return toFuseStat(created);
        files.settleForStat(path);
        let found = fs.lstatIfExists(path);
        if (!found) return new Errno(E.ENOENT);
        if (found.nlink > 1 && files.settleLinked(found.ino, path)) found = fs.lstat(path);
        // libfuse answers a SETATTR (chmod, chown, truncate, touch) and a LINK with this getattr.
        if (found.nlink > 1) {
          const { opcode } = caller();
          if (opcode === KERNEL_OP.setattr || opcode === KERNEL_OP.link) changedLinked(found);
        }
        return toFuseStat(files.overlay(path, found));
      }),
    access: (path: string, _mode: number, cb: Callback) =>
      guard("access", path, cb, false, () => {
        if (!files.createdStats(path)) fs.lstat(path);
      }),
    readdir: (path: string, cb: Callback<string[]>) =>
      guard("readdir", path, cb, false, () => {
        files.settleCreated(path);
        return [".", "..", ...fs.readdir(path).map((entry) => entry.name)];
      }),
    readlink: (path: string, cb: Callback<string>) => guard("readlink", path, cb, false, () => fs.readlink(path)),
    open: (path: string, flags: number, cb: Callback<number>) => {
      const writing = (flags & O_ACCMODE) !== O_RDONLY;
      // Opening for writing is itself a change on a read-only mount, as on any read-only filesystem.
      const opened = attempt("open", path, writing, () => {
        files.settleCreated(path);
        const stats = fs.stat(path);
        if (stats.type === "directory") return new Errno(E.EINVAL);
        const fd = files.open(path, writing, stats.nlink > 1 ? stats.ino : 0);
        return { fd, fetching: options.ensureContent?.(path) };
      });
      if (opened instanceof Errno) return cb(opened.code);
      if (!opened.fetching) return cb(0, opened.fd);
      opened.fetching.then(
        () => cb(0, opened.fd),
        (error: unknown) => {
          files.discard(opened.fd);
          options.onError?.("open", path, error);
          cb(E.EIO);
        },
      );
    },
    create: (path: string, mode: number, cb: Callback<number>) =>
      guard("create", path, cb, true, () => {
        // The kernel has already checked that the name is free (O_EXCL) or chose to create it.
        // The file is made with its first writes, at close for a small one (OpenFiles.create):
        // one transaction for the file and its content. Whatever would fail that fails here.
        files.settleCreated(path);
        if (fs.exists(path)) return files.open(path, true);
        fs.checkCreate(path);
        return files.create(path, mode & 0o7777, owner());
      }),
    read: (path: string, fd: number, buffer: Uint8Array, length: number, position: number, cb: (bytesOrErrno: number) => void) =>
      guardCount("read", path, cb, false, () => {
        const file = files.get(fd);
        if (!file) return new Errno(E.EBADF);
        files.settle(file.path);
        if (file.linkedIno) files.settleLinked(file.linkedIno, file.path);
        return fs.readInto(file.path, buffer.subarray(0, length), position);
      }),
    write: (path: string, fd: number, buffer: Uint8Array, length: number, position: number, cb: (bytesOrErrno: number) => void) =>
      guardCount("write", path, cb, true, () => {
        const file = files.get(fd);
        if (!file) return new Errno(E.EBADF);
        // Past the largest file size the write itself fails (EFBIG), or writes what fits, as on
        // Linux: never accepted here to fail later at close, which would drop the data.
        const room = fs.maxFileSize - position;
        if (room <= 0) return new Errno(E.EFBIG);
        const accepted = Math.min(length, room);
        // fuse-native detaches its buffer after the callback: the write buffer copies the bytes.
        files.write(file, position, buffer.subarray(0, accepted));
        // Other names' kernel inodes still hold the size and mtime from before this write.
        if (file.linkedIno) options.kernel?.invalidateAttributes(file.linkedIno);
        return accepted;
      }),
    flush: (path: string, fd: number, cb: Callback) =>
      guard("flush", path, cb, false, () => {
        const file = files.get(fd);
        if (!file) return new Errno(E.EBADF);
        const landing = file.pending !== undefined || file.attributes !== undefined;
        files.flush(file);
        if (landing && file.linkedIno) landedLinked(file.linkedIno);
      }),
    fsync: (path: string, _dataSync: number, fd: number, cb: Callback) => {
      const landed = attempt("fsync", path, false, () => {
        const file = files.get(fd);
        if (!file) return new Errno(E.EBADF);
        files.commit(file);
        file.activeAt = 0;
        if (file.linkedIno) landedLinked(file.linkedIno);
        return file.path;
      });
      if (landed instanceof Errno) return cb(landed.code);
      if (!options.onFsync) return cb(0);
      options.onFsync(landed).then(
        () => cb(0),
        (error: unknown) => {
          options.onError?.("fsync", landed, error);
          cb(E.EIO);
        },
      );
    },
    release: (path: string, fd: number, cb: Callback) =>
      guard("release", path, cb, false, () => {
        const file = files.close(fd);
        if (file?.writing) options.onReleased?.(file.path);
      }),
    truncate: (path: string, size: number, cb: Callback) =>
      guard("truncate", path, cb, true, () => {
        files.settle(path);
        fs.truncate(path, size);
      }),
    ftruncate: (path: string, fd: number, size: number, cb: Callback) =>
      guard("ftruncate", path, cb, true, () => {
        const file = files.get(fd);
        if (file) file.activeAt = Date.now();
        const target = file?.path ?? path;
        files.settle(target);
        fs.truncate(target, size);
      }),
    fallocate: (path: string, fd: number, mode: number, offset: number, length: number, cb: Callback) =>
      guard("fallocate", path, cb, true, () => {
        // Chunks are content-addressed and zeros cost nothing to keep, so reserving space is
        // growing the size (mode 0) or nothing (KEEP_SIZE). Punching holes and the rest: EOPNOTSUPP.
        if ((mode & ~FALLOC_FL_KEEP_SIZE) !== 0) return new Errno(E.EOPNOTSUPP);
        if (offset < 0 || length <= 0) return new Errno(E.EINVAL);
        if (offset + length > fs.maxFileSize) return new Errno(E.EFBIG);
        const file = files.get(fd);
        if (file) file.activeAt = Date.now();
        const target = file?.path ?? path;
        files.settle(target);
        const stats = fs.stat(target);
        if (mode === 0 && stats.size < offset + length) {
          fs.truncate(target, offset + length);
          changedLinked(stats);
        }
      }),
    unlink: (path: string, cb: Callback) =>
      guard("unlink", path, cb, true, () => {
        files.settle(path);
        const stats = fs.lstat(path);
        fs.unlink(path);
        changedLinked(stats);
      }),
    mkdir: (path: string, mode: number, cb: Callback) =>
      guard("mkdir", path, cb, true, () => {
        fs.mkdir(path, { mode: mode & 0o7777, owner: owner() });
      }),
    mknod: (path: string, mode: number, dev: number, cb: Callback) =>
      guard("mknod", path, cb, true, () => {
        const type = typeOfBits(mode);
        const options = { mode: mode & 0o7777, owner: owner() };
        if (type === "file") fs.writeFile(path, "", { ...options, exclusive: true });
        else if (type && type !== "directory" && type !== "symlink") fs.mknod(path, type, { ...options, rdev: dev });
        else return new Errno(E.EINVAL);
      }),
    rmdir: (path: string, cb: Callback) =>
      guard("rmdir", path, cb, true, () => {
        files.settleCreated(path);
        fs.rmdir(path);
      }),
    rename: (from: string, to: string, cb: Callback) =>
      guard("rename", from, cb, true, () => {
        const moving = fs.lstat(from);
        if (options.crossesDevice?.(from, to, moving.type)) return new Errno(E.EXDEV);
        files.settle();
        const replaced = fs.lstatIfExists(to);
        fs.rename(from, to);
        files.renamed(from, to);
        changedLinked(moving);
        if (replaced?.ino !== moving.ino) changedLinked(replaced);
      }),
    link: (from: string, to: string, cb: Callback) =>
      guard("link", to, cb, true, () => {
        files.settle(from);
        fs.link(from, to);
      }),
    symlink: (target: string, path: string, cb: Callback) =>
      guard("symlink", path, cb, true, () => {
        fs.symlink(target, path, { owner: owner() });
      }),
    // Setting attributes of a file open for writing waits on its handle and lands with its
    // writes at close, in one transaction (OpenFiles.deferAttributes).
    chmod: (path: string, mode: number, cb: Callback) =>
      guard("chmod", path, cb, true, () => {
        if (!files.deferAttributes(path, { mode: mode & 0o7777 })) fs.chmod(path, mode & 0o7777);
      }),
    // The kernel has resolved every symlink the caller meant to follow: a path that names a
    // symlink here means the link itself (lchown, `touch -h`), so setattr never follows.
    chown: (path: string, uid: number, gid: number, cb: Callback) =>
      guard("chown", path, cb, true, () => {
        const current = files.createdStats(path) ?? files.overlay(path, fs.lstat(path));
        const owner = { uid: unchanged(uid) ? current.uid : uid, gid: unchanged(gid) ? current.gid : gid };
        if (!files.deferAttributes(path, { owner })) fs.lchown(path, owner.uid, owner.gid);
      }),
    utimens: (path: string, atime: number | null, mtime: number | null, cb: Callback) =>
      guard("utimens", path, cb, true, () => {
        const current = files.createdStats(path) ?? files.overlay(path, fs.lstat(path));
        const times = { atimeMs: atime ?? current.atimeMs, mtimeMs: mtime ?? current.mtimeMs };
        if (files.deferAttributes(path, { times })) return;
        files.settle(path);
        fs.lutimes(path, times.atimeMs, times.mtimeMs);
      }),
  } satisfies FuseOps;
  return {
    ops,
    writerActiveAt: (path) => files.writerActiveAt(path),
    openFiles: () => files.count,
    openPaths: () => files.paths(),
    settle: () => files.settle(),
    lastRequestAt: () => lastRequestAt,
    pulled: (paths) => {
      const kernel = options.kernel;
      if (!kernel) return Promise.resolve();
      const names = new Map<string, [number, string]>();
      const contents = new Set<number>();
      for (const path of paths) {
        // The name to drop is in the nearest directory still there (a gone directory's own name).
        if (path === "/") continue;
        let name = path;
        let parent = fs.lstatIfExists(parentOf(name));
        while (!parent) {
          name = parentOf(name);
          parent = fs.lstatIfExists(parentOf(name));
        }
        names.set(`${parent.ino}/${baseName(name)}`, [parent.ino, baseName(name)]);
        const now = fs.lstatIfExists(path);
        if (now) {
          kernel.invalidateAttributes(now.ino);
          if (now.type === "file") contents.add(now.ino);
        }
      }
      return kernel.invalidate([...names.values()], [...contents]);
    },
  };
}

const unchanged = (id: number) => id === -1 || id === UNCHANGED_ID;

const typeOfBits = (mode: number): FileType | undefined => (Object.keys(TYPE_BITS) as FileType[]).find((type) => TYPE_BITS[type] === (mode & S_IFMT));

function toFuseStat(stats: Stats): FuseStat {
  return {
    mode: TYPE_BITS[stats.type] | stats.mode,
    uid: stats.uid,
    gid: stats.gid,
    size: stats.size,
    nlink: stats.nlink,
    ino: stats.ino,
    rdev: stats.rdev,
    blksize: 4096,
    blocks: Math.ceil(stats.size / 512),
    atime: stats.atimeMs,
    mtime: stats.mtimeMs,
    ctime: stats.ctimeMs,
  };
}
