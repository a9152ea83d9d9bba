import { ChunkStore } from "./chunks.ts";
import { ABSENT, type CachedEntry, DirectoryCache } from "./directory-cache.ts";
import { FsError, isFsError } from "./errors.ts";
import { comparePaths, isWithin, joinPath, normalizePath, PATH_MAX, splitPath } from "./paths.ts";
import { type FileType, INODE_TYPE, migrate, ROOT_INO, TYPE_NAMES } from "./schema.ts";
import type { SqlDriver } from "./sql.ts";

export type { FileType } from "./schema.ts";

/** Options for {@link WorkspaceFs}. Every limit is in bytes. */
export interface WorkspaceFsOptions {
  /** Chunk size for a new database (fixed once created; at most 1 MiB). Default 256 KiB. */
  chunkSize?: number;
  /** Largest file; larger writes fail with EFBIG. Default 2 GiB. */
  maxFileSize?: number;
  /** Most bytes the workspace may store after dedup; writes past it fail with ENOSPC. Default 9 GiB. */
  maxWorkspaceBytes?: number;
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Called after each committed mutation that reached a new revision (sync notifies peers here). */
  onChange?: (rev: number) => void;
  /**
   * Keep the bytes of chunks nothing references until {@link WorkspaceFs.collectGarbage} (wsd
   * calls it when the mount is quiet), so an overwrite does not also pay for deleting the old
   * content. Default false: freed at once.
   */
  deferChunkFrees?: boolean;
}

export interface Stats {
  ino: number;
  type: FileType;
  /** Permission bits (`0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
}

export interface DirEntry {
  name: string;
  type: FileType;
}

export interface DirEntryWithStats extends DirEntry {
  stats: Stats;
}

export interface ReadOptions {
  /** First byte to read. Default 0. */
  byteOffset?: number;
  /** Most bytes to read. Default: to the end. */
  byteLength?: number;
}

/** Who owns what a call creates. Default uid 0, gid 0. */
export interface Owner {
  uid: number;
  gid: number;
}

export interface WriteOptions {
  /** Permission bits of a file this call creates. Default `0o644`. */
  mode?: number;
  /** Owner of a file this call creates. */
  owner?: Owner;
  /** Fail with EEXIST when the file exists (`O_EXCL`). */
  exclusive?: boolean;
}

/** One entry of the change log in its latest state (see {@link WorkspaceFs.changesSince}). */
/** A path's latest state after a revision; `writer` is the sync peer whose push made it, if one did. */
export type ChangeEntry =
  | { path: string; rev: number; writer?: string; deleted: true }
  | { path: string; rev: number; writer?: string; deleted: false; stats: Stats; chunks?: string[]; target?: string };

export interface ChangePage {
  entries: ChangeEntry[];
  /** Pass back as `since` for the next page; the revision of the last entry. */
  rev: number;
  /** True when more entries follow. */
  more: boolean;
}

export interface WalkEntry {
  path: string;
  type: FileType;
  /** Depth below the walk's root: its children are at depth 1. */
  depth: number;
}

export interface WalkOptions {
  /** Most levels to descend; 1 lists only the children. Default unlimited. */
  maxDepth?: number;
  /** Return false to leave out a directory and everything below it. */
  enter?: (entry: WalkEntry) => boolean;
  /** Resume after this path (exclusive), in walk order. */
  after?: string;
}

export interface Usage {
  files: number;
  directories: number;
  symlinks: number;
  /** Sum of file sizes (each inode once). */
  logicalBytes: number;
  /** Bytes actually stored, each distinct chunk once. */
  storedBytes: number;
  /** `logicalBytes - storedBytes`: what content-addressing saved. */
  dedupSavedBytes: number;
  chunks: number;
  maxWorkspaceBytes: number;
  maxFileSize: number;
  rev: number;
}

interface InodeRow {
  [key: string]: number | string | null;
  ino: number;
  type: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  atime: number;
  mtime: number;
  ctime: number;
  btime: number;
  target: string | null;
}

/** Where a path leads: its parent directory, the final name, and the inode if it exists. */
interface Located {
  /** The path with every symlink before the final name resolved. */
  path: string;
  parent: number;
  name: string;
  entry: CachedEntry | undefined;
}

const MAX_SYMLINK_HOPS = 40;
/** Files of up to this many chunks are read in one query (see chunksOf). */
const READ_BATCH = 4;
const DIRECTORY_CACHE_LIMIT = 100_000;
const MiB = 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A POSIX-like file tree over SQLite: the engine behind both the Durable Object and wsd's
 * replica. Synchronous and host-agnostic; give it a {@link SqlDriver}.
 *
 * Every mutation runs in one transaction and either fully happens or leaves the tree as it
 * was. Each one stamps a new revision on every path it touched, so {@link changesSince} can
 * tell a peer what changed. One engine per database: it caches directory entries in memory.
 */
export class WorkspaceFs {
  readonly chunkSize: number;
  readonly maxFileSize: number;
  readonly maxWorkspaceBytes: number;
  readonly #sql: SqlDriver;
  readonly #chunks: ChunkStore;
  readonly #now: () => number;
  readonly #onChange: ((rev: number) => void) | undefined;
  readonly #dirCache = new DirectoryCache(DIRECTORY_CACHE_LIMIT);
  #rev = 0;
  #touched = new Set<string>();
  #inTransaction = false;
  /** False inside a `batch({ record: false })`: its changes stay out of the change log. */
  #record = true;
  /** The sync peer a `batch({ writer })` applies for, stamped beside its revisions. */
  #writer: string | null = null;
  #nextUpload = 1;

  constructor(sql: SqlDriver, options: WorkspaceFsOptions = {}) {
    const requestedChunkSize = options.chunkSize ?? 256 * 1024;
    if (!Number.isInteger(requestedChunkSize) || requestedChunkSize < 1 || requestedChunkSize > MiB) {
      throw new RangeError(`chunkSize must be an integer from 1 to ${MiB}, got ${requestedChunkSize}`);
    }
    this.#sql = sql;
    this.#now = options.now ?? Date.now;
    this.#onChange = options.onChange;
    this.maxFileSize = options.maxFileSize ?? 2 * 1024 * MiB;
    this.maxWorkspaceBytes = options.maxWorkspaceBytes ?? 9 * 1024 * MiB;
    this.chunkSize = migrate(sql, requestedChunkSize, this.#now()).chunkSize;
    // Both are derived rather than stored, so a mutation writes no counter row.
    this.#rev = this.#loadRev();
    this.#chunks = new ChunkStore(sql, { deferFrees: options.deferChunkFrees });
    this.#releaseAbandonedUploads();
  }

  /** The revision of the latest mutation (0 for a new workspace). */
  get rev(): number {
    return this.#rev;
  }

  // ---- reading ------------------------------------------------------------------------------

  stat(path: string): Stats {
    return toStats(this.#inode(this.#existing(path, true).entry.ino));
  }

  lstat(path: string): Stats {
    return toStats(this.#inode(this.#existing(path, false).entry.ino));
  }

  /** Whether `path` names something; with `followSymlink: false`, a dangling symlink counts (as lstat sees it). */
  exists(path: string, options: { followSymlink?: boolean } = {}): boolean {
    try {
      this.#existing(path, options.followSymlink ?? true);
      return true;
    } catch (error) {
      if (isFsError(error) && error.code !== "EINVAL" && error.code !== "ENAMETOOLONG") return false;
      throw error;
    }
  }

  /** The path with every symlink resolved. */
  realpath(path: string): string {
    return this.#existing(path, true).path;
  }

  readlink(path: string): string {
    const { path: at, entry } = this.#existing(path, false);
    if (entry.type !== INODE_TYPE.symlink) throw new FsError("EINVAL", at, "is not a symbolic link");
    return entry.target!;
  }

  /** A file's bytes, or the part of them `options` names. */
  readFile(path: string, options?: ReadOptions): Uint8Array;
  /** A file's text, decoded as UTF-8 (invalid bytes become U+FFFD). */
  readFile(path: string, options: ReadOptions & { encoding: "utf8" }): string;
  readFile(path: string, options: ReadOptions & { encoding?: "utf8" } = {}): Uint8Array | string {
    const { ino, path: at } = this.#file(path);
    const bytes = this.#readRange(ino, at, options);
    return options.encoding === "utf8" ? decoder.decode(bytes) : bytes;
  }

  /**
   * Copies the file's bytes from `position` into `target` (as many as fit, up to the end of the
   * file) and answers how many: a read with no allocation, for the FUSE mount.
   */
  readInto(path: string, target: Uint8Array, position: number): number {
    const { ino, path: at } = this.#file(path);
    checkOffset(at, position, "position");
    const size = this.#inode(ino).size;
    const end = Math.min(size, position + target.byteLength);
    this.#copyRange(ino, at, position, end, target);
    return Math.max(0, end - position);
  }

  /**
   * A file's content one chunk at a time, so a large file never sits whole in memory. The
   * chunk list is read when the stream starts; if the file is rewritten meanwhile, the stream
   * fails with ESTALE rather than mixing two versions.
   */
  readFileStream(path: string): ReadableStream<Uint8Array> {
    const chunks = this.chunksOf(path);
    return new ReadableStream<Uint8Array>(
      {
        pull: (controller) => {
          const next = chunks.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
      },
      { highWaterMark: 0 },
    );
  }

  /**
   * A file's chunks in order, read lazily (see {@link readFileStream}); fails at once if it is
   * no file. A file of up to {@link READ_BATCH} chunks is read in one query; a larger one takes
   * its chunk list first and then each chunk by hash, so a rewrite meanwhile is noticed (ESTALE).
   */
  chunksOf(path: string): Generator<Uint8Array> {
    const { ino, path: at } = this.#file(path);
    const head = this.#sql.all<{ hash: string; data: Uint8Array }>(
      "SELECT f.hash, c.data FROM file_chunks f JOIN chunks c ON c.hash = f.hash WHERE f.ino = ? AND f.idx < ? ORDER BY f.idx",
      ino,
      READ_BATCH + 1,
    );
    const hashes = head.length > READ_BATCH ? this.#chunkHashes(ino) : [];
    const chunks = this.#chunks;
    return (function* () {
      if (head.length <= READ_BATCH) return yield* head.map((row) => row.data);
      for (const [index, hash] of hashes.entries()) {
        const data = index < head.length && head[index]!.hash === hash ? head[index]!.data : chunks.get(hash);
        if (!data) throw new FsError("ESTALE", at, "changed while it was being read; read it again");
        yield data;
      }
    })();
  }

  /** The entries of a directory, sorted by name. */
  readdir(path: string): DirEntry[];
  readdir(path: string, options: { withStats: true }): DirEntryWithStats[];
  readdir(path: string, options: { withStats?: boolean } = {}): DirEntry[] | DirEntryWithStats[] {
    const { entry, path: at } = this.#existing(path, true);
    if (entry.type !== INODE_TYPE.directory) throw new FsError("ENOTDIR", at, "is not a directory");
    if (!options.withStats) {
      return this.#children(entry.ino).map(({ name, type }) => ({ name, type: TYPE_NAMES[type]! }));
    }
    const rows = this.#sql.all<InodeRow & { name: string }>(
      "SELECT d.name, i.* FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? ORDER BY d.name",
      entry.ino,
    );
    return rows.map((row) => ({ name: row.name, type: TYPE_NAMES[row.type]!, stats: toStats(row) }));
  }

  /**
   * Every entry below a directory in sorted depth-first order (a directory before its
   * contents), without following symlinks. Lazy: stop iterating and no more is read.
   */
  *walk(path: string, options: WalkOptions = {}): Generator<WalkEntry> {
    const { entry, path: root } = this.#existing(path, true);
    if (entry.type !== INODE_TYPE.directory) throw new FsError("ENOTDIR", root, "is not a directory");
    const maxDepth = options.maxDepth ?? Infinity;
    const after = options.after === undefined ? undefined : normalizePath(options.after);
    const visit = function* (this: WorkspaceFs, ino: number, dir: string, depth: number): Generator<WalkEntry> {
      for (const child of this.#children(ino)) {
        const childPath = joinPath(dir, child.name);
        // The cursor is this entry or lies below it: the entry was already given, its subtree goes on.
        const resumesInside = after !== undefined && isWithin(after, childPath);
        if (after !== undefined && !resumesInside && comparePaths(childPath, after) <= 0) continue;
        const item: WalkEntry = { path: childPath, type: TYPE_NAMES[child.type]!, depth };
        const isDir = child.type === INODE_TYPE.directory;
        if (!resumesInside) {
          if (isDir && options.enter && !options.enter(item)) continue;
          yield item;
        }
        if (isDir && depth < maxDepth) yield* visit.call(this, child.ino, childPath, depth + 1);
      }
    };
    yield* visit.call(this, entry.ino, root, 1);
  }

  usage(): Usage {
    const counts = this.#sql.all<{ type: number; n: number; bytes: number }>(
      "SELECT type, count(*) AS n, coalesce(sum(size), 0) AS bytes FROM inodes GROUP BY type",
    );
    const of = (type: number) => counts.find((row) => row.type === type);
    const logicalBytes = of(INODE_TYPE.file)?.bytes ?? 0;
    const storedBytes = this.#chunks.storedBytes;
    return {
      files: of(INODE_TYPE.file)?.n ?? 0,
      directories: of(INODE_TYPE.directory)?.n ?? 0,
      symlinks: of(INODE_TYPE.symlink)?.n ?? 0,
      logicalBytes,
      storedBytes,
      dedupSavedBytes: Math.max(0, logicalBytes - storedBytes),
      chunks: this.#chunks.count(),
      maxWorkspaceBytes: this.maxWorkspaceBytes,
      maxFileSize: this.maxFileSize,
      rev: this.#rev,
    };
  }

  /**
   * What changed after revision `since`: one entry per path, in its latest state (or a
   * tombstone), ordered by revision. A page holds at least `limit` entries unless the log
   * ends, and never splits one revision, so the returned `rev` is a safe cursor.
   */
  changesSince(since: number, options: { limit?: number } = {}): ChangePage {
    const limit = Math.max(1, options.limit ?? 1000);
    type Row = { path: string; rev: number; writer: string | null };
    let rows = this.#sql.all<Row>("SELECT path, rev, writer FROM changes WHERE rev > ? ORDER BY rev, path LIMIT ?", since, limit + 1);
    let more = false;
    if (rows.length > limit) {
      const lastRev = rows[limit - 1]!.rev;
      rows =
        rows[limit]!.rev !== lastRev
          ? rows.slice(0, limit)
          : [...rows.filter((row) => row.rev < lastRev), ...this.#sql.all<Row>("SELECT path, rev, writer FROM changes WHERE rev = ? ORDER BY path", lastRev)];
      more = this.#sql.one("SELECT 1 AS x FROM changes WHERE rev > ? LIMIT 1", lastRev) !== undefined;
    }
    return {
      entries: rows.map(({ path, rev, writer }) => {
        const entry = this.#changeEntry(path, rev);
        if (writer !== null) entry.writer = writer;
        return entry;
      }),
      rev: rows.length ? rows[rows.length - 1]!.rev : since,
      more,
    };
  }

  // ---- writing ------------------------------------------------------------------------------

  /** Creates or replaces a file with `data` (a string is written as UTF-8). */
  writeFile(path: string, data: string | Uint8Array, options: WriteOptions = {}): void {
    const bytes = toBytes(data);
    this.#mutate(path, () => {
      const { ino, path: at, created } = this.#openForWrite(path, options, bytes.byteLength);
      if (bytes.byteLength > this.maxFileSize) throw this.#tooBig(at, bytes.byteLength);
      const hashes: string[] = [];
      for (let offset = 0; offset < bytes.byteLength; offset += this.chunkSize) {
        hashes.push(this.#chunks.put(bytes.subarray(offset, offset + this.chunkSize)));
      }
      if (created) this.#setChunks(ino, 0, hashes, []);
      else this.#replaceContent(ino, at, hashes, bytes.byteLength);
    });
  }

  /**
   * Creates or replaces a file from a stream, holding one chunk in memory at a time. Chunks
   * are staged as they arrive and the file switches to them in one final transaction: a stream
   * that fails midway (or a quota hit) leaves the old file, or none, and frees what was staged.
   */
  async writeFileStream(path: string, source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>, options: WriteOptions = {}): Promise<void> {
    const { path: at } = this.#probeForWrite(path, options);
    const upload = this.#nextUpload++;
    let size = 0;
    let staged = 0;
    const buffer = new Uint8Array(this.chunkSize);
    let filled = 0;
    const stage = (data: Uint8Array) =>
      this.#mutate(at, () => {
        this.#stage(upload, this.#chunks.put(data));
        staged++;
      });
    try {
      for await (const piece of source as AsyncIterable<Uint8Array>) {
        const bytes = toBytes(piece);
        size += bytes.byteLength;
        if (size > this.maxFileSize) throw this.#tooBig(at, size);
        for (let offset = 0; offset < bytes.byteLength; ) {
          const take = Math.min(bytes.byteLength - offset, this.chunkSize - filled);
          buffer.set(bytes.subarray(offset, offset + take), filled);
          filled += take;
          offset += take;
          if (filled === this.chunkSize) {
            stage(buffer);
            filled = 0;
          }
        }
      }
      if (filled > 0) stage(buffer.subarray(0, filled));
      this.#mutate(at, () => {
        const { ino, path: target, created } = this.#openForWrite(path, options, size);
        const hashes = this.#sql.all<{ hash: string }>("SELECT hash FROM staged_chunks WHERE upload = ? ORDER BY idx", upload).map((row) => row.hash);
        if (hashes.length !== staged) throw new FsError("EIO", target, "lost its staged content while being written; write it again");
        // The staged references become the file's references.
        this.#sql.run("DELETE FROM staged_chunks WHERE upload = ?", upload);
        if (created) this.#setChunks(ino, 0, hashes, []);
        else this.#replaceContent(ino, target, hashes, size);
      });
    } catch (error) {
      this.closeUpload(upload);
      throw error;
    }
  }

  /** Appends to a file, creating it when missing. */
  appendFile(path: string, data: string | Uint8Array, options: Pick<WriteOptions, "mode" | "owner"> = {}): void {
    const bytes = toBytes(data);
    this.#mutate(path, () => {
      const { ino, path: at } = this.#openForWrite(path, options, 0);
      this.#writeAt(ino, at, this.#inode(ino).size, bytes);
    });
  }

  /** Writes `data` at byte `position` of an existing file, rewriting only the chunks it touches. */
  write(path: string, data: Uint8Array | string, position: number): number {
    const bytes = toBytes(data);
    checkOffset(path, position, "position");
    this.#mutate(path, () => {
      const { ino, path: at } = this.#file(path);
      this.#writeAt(ino, at, position, bytes);
    });
    return bytes.byteLength;
  }

  /** Cuts a file to `length` bytes or extends it with zeros. */
  truncate(path: string, length = 0): void {
    checkOffset(path, length, "length");
    this.#mutate(path, () => {
      const { ino, path: at } = this.#file(path);
      const node = this.#inode(ino);
      if (length > this.maxFileSize) throw this.#tooBig(at, length);
      if (length >= node.size) return this.#writeAt(ino, at, length, new Uint8Array(0));
      const keep = Math.ceil(length / this.chunkSize);
      const tail = length % this.chunkSize;
      if (tail !== 0) {
        const old = this.#chunkHashes(ino, keep - 1, keep - 1);
        this.#setChunks(ino, keep - 1, [this.#chunks.put(this.#chunkData(old[0]!, at).subarray(0, tail))], old);
      }
      this.#dropChunks(ino, keep);
      this.#setSize(ino, at, length);
    });
  }

  /**
   * Creates a directory. With `recursive`, creates missing parents too and succeeds when the
   * directory exists; returns the first directory it created.
   */
  mkdir(path: string, options: { recursive?: boolean; mode?: number; owner?: Owner } = {}): string | undefined {
    const mode = (options.mode ?? 0o755) & 0o7777;
    return this.#mutate(path, () => {
      if (!options.recursive) {
        const { parent, name, entry, path: at } = this.#locate(path, true);
        if (entry || at === "/") throw new FsError("EEXIST", at, "already exists");
        this.#createInode({ parent, name, type: INODE_TYPE.directory, mode, path: at, owner: options.owner });
        return at;
      }
      const wanted = normalizePath(path);
      let first: string | undefined;
      let dir = "/";
      for (const name of splitPath(wanted)) {
        const { parent, entry, path: at } = this.#locate(joinPath(dir, name), true);
        if (!entry) {
          this.#createInode({ parent, name, type: INODE_TYPE.directory, mode, path: at, owner: options.owner });
          first ??= at;
        } else if (entry.type !== INODE_TYPE.directory) {
          throw new FsError(at === wanted ? "EEXIST" : "ENOTDIR", at, "exists and is not a directory");
        }
        dir = at;
      }
      return first;
    });
  }

  /** Removes a file or symlink (never a directory: EISDIR). */
  unlink(path: string): void {
    this.#mutate(path, () => {
      const { parent, name, entry, path: at } = this.#existing(path, false);
      if (entry.type === INODE_TYPE.directory) throw new FsError("EISDIR", at, "is a directory; remove it with rmdir or rm");
      this.#removeEntry(parent, name, entry, at);
    });
  }

  /** Removes an empty directory. */
  rmdir(path: string): void {
    this.#mutate(path, () => {
      const { parent, name, entry, path: at } = this.#existing(path, false);
      if (entry.type !== INODE_TYPE.directory) throw new FsError("ENOTDIR", at, "is not a directory");
      if (at === "/") throw new FsError("EPERM", at, "is the workspace root, which cannot be removed");
      if (this.#hasChildren(entry.ino)) throw new FsError("ENOTEMPTY", at, "is a directory that is not empty");
      this.#removeEntry(parent, name, entry, at);
    });
  }

  /**
   * Removes a file, symlink or empty directory; with `recursive`, a directory and everything
   * in it. With `force`, a missing path is not an error.
   */
  rm(path: string, options: { recursive?: boolean; force?: boolean } = {}): void {
    this.#mutate(path, () => {
      let located: Located & { entry: CachedEntry };
      try {
        located = this.#existing(path, false);
      } catch (error) {
        if (options.force && isFsError(error, "ENOENT")) return;
        throw error;
      }
      const { parent, name, entry, path: at } = located;
      if (at === "/") throw new FsError("EPERM", at, "is the workspace root, which cannot be removed");
      if (entry.type === INODE_TYPE.directory && this.#hasChildren(entry.ino)) {
        if (!options.recursive) {
          throw new FsError("ENOTEMPTY", at, "is a directory that is not empty; pass recursive to remove it with everything in it");
        }
        this.#removeTree(entry.ino, at);
      }
      this.#removeEntry(parent, name, entry, at);
    });
  }

  /**
   * Moves `from` to `to` atomically with rename(2)'s rules: an existing `to` is replaced when
   * it is a file (and `from` is not a directory) or an empty directory (and `from` is one).
   * Moving a directory rewrites one row, however large the tree below it.
   */
  rename(from: string, to: string): void {
    this.#mutate(from, () => {
      const source = this.#existing(from, false);
      const target = this.#locate(to, false);
      if (source.path === "/") throw new FsError("EPERM", source.path, "is the workspace root, which cannot be moved");
      if (target.path === "/") throw new FsError("EPERM", target.path, "is the workspace root, which cannot be replaced");
      const isDir = source.entry.type === INODE_TYPE.directory;
      if (isDir && isWithin(target.path, source.path) && target.path !== source.path) {
        throw new FsError("EINVAL", target.path, `is inside ${source.path}; a directory cannot be moved into itself`);
      }
      if (target.entry) {
        if (target.entry.ino === source.entry.ino) return;
        const targetIsDir = target.entry.type === INODE_TYPE.directory;
        if (isDir && !targetIsDir) throw new FsError("ENOTDIR", target.path, `is not a directory, so directory ${source.path} cannot replace it`);
        if (!isDir && targetIsDir) throw new FsError("EISDIR", target.path, `is a directory, so ${source.path} cannot replace it`);
        if (targetIsDir && this.#hasChildren(target.entry.ino)) throw new FsError("ENOTEMPTY", target.path, "is a directory that is not empty");
        this.#removeEntry(target.parent, target.name, target.entry, target.path);
      }
      const moved = isDir ? [...this.#descendants(source.entry.ino, "")] : [];
      this.#sql.run("UPDATE dirents SET parent = ?, name = ? WHERE parent = ? AND name = ?", target.parent, target.name, source.parent, source.name);
      this.#dirCache.delete(source.parent, source.name);
      this.#dirCache.set(target.parent, target.name, source.entry);
      const now = this.#now();
      const linkDelta = isDir ? 1 : 0;
      this.#touchDirectory(source.parent, now, -linkDelta);
      this.#touchDirectory(target.parent, now, linkDelta);
      this.#sql.run("UPDATE inodes SET ctime = ? WHERE ino = ?", now, source.entry.ino);
      for (const path of [source.path, ...moved.map((rel) => source.path + rel)]) this.#touched.add(path);
      for (const path of [target.path, ...moved.map((rel) => target.path + rel)]) this.#touched.add(path);
    });
  }

  /**
   * Copies a file, or with `recursive` a directory tree, to `to`. Content is shared by chunk
   * reference, so a copy costs rows, not bytes. A symlink named by `from` is followed; symlinks
   * inside a copied tree are copied as links. An existing file at `to` is replaced unless
   * `exclusive`; a directory is never copied over an existing path.
   */
  copy(from: string, to: string, options: { recursive?: boolean; exclusive?: boolean } = {}): void {
    this.#mutate(to, () => {
      const source = this.#existing(from, true);
      const target = this.#locate(to, true);
      const sourceIsDir = source.entry.type === INODE_TYPE.directory;
      if (target.path === "/" || target.entry?.type === INODE_TYPE.directory) {
        throw new FsError(sourceIsDir ? "EEXIST" : "EISDIR", target.path, sourceIsDir ? "already exists" : "is a directory; name the file to create inside it");
      }
      if (target.entry && target.entry.ino === source.entry.ino) throw new FsError("EINVAL", target.path, `is ${source.path} itself`);
      if (!sourceIsDir) {
        if (target.entry && options.exclusive) throw new FsError("EEXIST", target.path, "already exists");
        const node = this.#inode(source.entry.ino);
        const hashes = this.#chunkHashes(node.ino);
        for (const hash of hashes) this.#chunks.ref(hash);
        if (target.entry) return this.#replaceContent(target.entry.ino, target.path, hashes, node.size);
        const ino = this.#createInode({ parent: target.parent, name: target.name, type: INODE_TYPE.file, mode: node.mode, path: target.path, size: node.size });
        return this.#setChunks(ino, 0, hashes, []);
      }
      if (!options.recursive) throw new FsError("EISDIR", source.path, "is a directory; pass recursive to copy it with everything in it");
      if (target.entry) throw new FsError("EEXIST", target.path, "already exists");
      if (isWithin(target.path, source.path)) throw new FsError("EINVAL", target.path, `is inside ${source.path}; a directory cannot be copied into itself`);
      this.#copyTree(source.entry.ino, target.parent, target.name, target.path);
    });
  }

  #copyTree(ino: number, parent: number, name: string, path: string): void {
    const node = this.#inode(ino);
    const copy = this.#createInode({ parent, name, type: node.type, mode: node.mode, target: node.target, path, size: node.size });
    if (node.type === INODE_TYPE.file) {
      const hashes = this.#chunkHashes(ino);
      for (const hash of hashes) this.#chunks.ref(hash);
      this.#setChunks(copy, 0, hashes, []);
    }
    if (node.type === INODE_TYPE.directory) {
      for (const child of this.#children(ino)) this.#copyTree(child.ino, copy, child.name, joinPath(path, child.name));
    }
  }

  /** Creates a symbolic link at `path` pointing to `target` (relative to the link's directory, or absolute). */
  symlink(target: string, path: string, options: { owner?: Owner } = {}): void {
    if (typeof target !== "string" || target === "" || target.includes("\0")) {
      throw new FsError("EINVAL", String(path), "needs a non-empty symlink target without NUL bytes");
    }
    if (encoder.encode(target).length > PATH_MAX) throw new FsError("ENAMETOOLONG", String(path), `has a symlink target longer than ${PATH_MAX} bytes`);
    this.#mutate(path, () => {
      const { parent, name, entry, path: at } = this.#locate(path, false);
      if (entry || at === "/") throw new FsError("EEXIST", at, "already exists");
      this.#createInode({ parent, name, type: INODE_TYPE.symlink, mode: 0o777, target, path: at, owner: options.owner });
    });
  }

  /** Makes `newPath` another name of the file or symlink at `existing` (a hard link). */
  link(existing: string, newPath: string): void {
    this.#mutate(newPath, () => {
      const source = this.#existing(existing, false);
      if (source.entry.type === INODE_TYPE.directory) throw new FsError("EPERM", source.path, "is a directory; directories cannot be hard-linked");
      const target = this.#locate(newPath, false);
      if (target.entry || target.path === "/") throw new FsError("EEXIST", target.path, "already exists");
      const now = this.#now();
      this.#sql.run("INSERT INTO dirents (parent, name, ino) VALUES (?, ?, ?)", target.parent, target.name, source.entry.ino);
      this.#dirCache.set(target.parent, target.name, source.entry);
      this.#sql.run("UPDATE inodes SET nlink = nlink + 1, ctime = ? WHERE ino = ?", now, source.entry.ino);
      this.#touchDirectory(target.parent, now, 0);
      for (const path of this.#pathsOf(source.entry.ino)) this.#touched.add(path);
    });
  }

  chmod(path: string, mode: number): void {
    if (!Number.isInteger(mode) || mode < 0) throw new FsError("EINVAL", String(path), `cannot take mode ${mode}; give permission bits such as 0o644`);
    this.#updateInode(path, "mode = ?", mode & 0o7777);
  }

  chown(path: string, uid: number, gid: number): void {
    for (const id of [uid, gid]) {
      if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new FsError("EINVAL", String(path), `cannot take owner id ${id}`);
    }
    this.#updateInode(path, "uid = ?, gid = ?", uid, gid);
  }

  /** Sets access and modification times (milliseconds since the epoch, or Dates). */
  utimes(path: string, atime: number | Date, mtime: number | Date): void {
    const times = [atime, mtime].map((time) => (time instanceof Date ? time.getTime() : time));
    if (times.some((time) => typeof time !== "number" || !Number.isFinite(time))) {
      throw new FsError("EINVAL", String(path), "needs times as finite milliseconds since the epoch or Dates");
    }
    this.#updateInode(path, "atime = ?, mtime = ?", Math.round(times[0]!), Math.round(times[1]!));
  }

  // ---- batches and sync primitives ----------------------------------------------------------

  /**
   * Runs the operations `fn` makes as one transaction: all of them happen or none does, under
   * one new revision. An error inside must end the batch (let it propagate): the batch rolls
   * back whole. With `record: false` the changes stay out of the change log: a replica applying
   * what its peer sent must not send it back. `writer` names the sync peer the batch applies
   * for; {@link lastChange} reports it, so a peer's own earlier push is never its conflict.
   */
  batch<T>(fn: () => T, options: { record?: boolean; writer?: string } = {}): T {
    if (this.#inTransaction) throw new Error("WorkspaceFs batches cannot nest");
    this.#record = options.record ?? true;
    this.#writer = options.writer ?? null;
    try {
      return this.#mutate("/", fn);
    } finally {
      this.#record = true;
      this.#writer = null;
    }
  }

  /** The revision that last touched `path` (0 if none did): sync compares it with a peer's base. */
  revisionOf(path: string): number {
    return this.lastChange(path).rev;
  }

  /** The last change to `path`: its revision (0 if none) and the sync peer that pushed it, if one did. */
  lastChange(path: string): { rev: number; writer: string | null } {
    return (
      this.#sql.one<{ rev: number; writer: string | null }>("SELECT rev, writer FROM changes WHERE path = ?", normalizePath(path)) ?? { rev: 0, writer: null }
    );
  }

  /** A sync cursor kept in the workspace's own database (0 until set), so a restart resumes. */
  cursor(name: string): number {
    return this.#sql.one<{ value: number }>("SELECT value FROM meta WHERE key = ?", `cursor:${name}`)?.value ?? 0;
  }

  setCursor(name: string, value: number): void {
    this.#sql.run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", `cursor:${name}`, value);
  }

  /**
   * Deletes the bytes of up to `limit` chunks nothing references any more (kept by
   * `deferChunkFrees`) and answers how many; 0 when there are none left.
   */
  collectGarbage(limit = 1000): number {
    return this.#sql.transaction(() => this.#chunks.collect(limit));
  }

  /** The hashes in `hashes` this workspace does not store (what a peer must send). */
  missingChunks(hashes: string[]): string[] {
    return [...new Set(hashes)].filter((hash) => !this.#chunks.has(hash));
  }

  /** A stored chunk's bytes, or undefined. */
  chunk(hash: string): Uint8Array | undefined {
    return this.#chunks.get(hash);
  }

  /**
   * Holds chunks received from a peer until the files that use them are written (see
   * {@link writeFileChunks}); {@link closeUpload} lets go of those no file took.
   */
  openUpload(): number {
    return this.#nextUpload++;
  }

  /** Stores one chunk for `upload` and returns its hash. */
  stageChunk(upload: number, data: Uint8Array): string {
    return this.#mutate("/", () => {
      const hash = this.#chunks.put(data);
      this.#stage(upload, hash);
      return hash;
    });
  }

  /** Records that `upload` holds one reference to `hash` (taken by the caller). */
  #stage(upload: number, hash: string): void {
    this.#sql.run(
      "INSERT INTO staged_chunks (upload, idx, hash) VALUES (?, (SELECT coalesce(max(idx), -1) + 1 FROM staged_chunks WHERE upload = ?), ?)",
      upload,
      upload,
      hash,
    );
  }

  /**
   * Adds to `upload` a hold on each of `hashes` stored here, so applying a page that removes a
   * path before writing another with the same content cannot free a chunk in between.
   */
  holdChunks(upload: number, hashes: string[]): void {
    this.#mutate("/", () => {
      for (const hash of new Set(hashes)) {
        if (!this.#chunks.has(hash)) continue;
        this.#chunks.ref(hash);
        this.#stage(upload, hash);
      }
    });
  }

  /** Lets go of what `upload` holds; chunks no file took are freed. */
  closeUpload(upload: number): void {
    this.#mutate("/", () => {
      for (const { hash } of this.#sql.all<{ hash: string }>("DELETE FROM staged_chunks WHERE upload = ? RETURNING hash", upload)) {
        this.#chunks.unref(hash);
      }
    });
  }

  /**
   * Creates or replaces a file whose content is `hashes`, chunks this workspace already stores
   * (or holds in an upload): how sync writes a file without moving its bytes again. Fails with
   * EIO for a chunk it lacks and EINVAL when the chunks do not add up to `size`.
   */
  writeFileChunks(path: string, hashes: string[], size: number, options: WriteOptions = {}): void {
    checkOffset(path, size, "size");
    this.#mutate(path, () => {
      const { ino, path: at, created } = this.#openForWrite(path, options, size);
      if (size > this.maxFileSize) throw this.#tooBig(at, size);
      let total = 0;
      for (const hash of hashes) {
        const stored = this.#chunks.size(hash);
        if (stored === undefined) throw new FsError("EIO", at, `cannot be written: chunk ${hash} is not stored here`);
        total += stored;
        this.#chunks.ref(hash);
      }
      if (total !== size) throw new FsError("EINVAL", at, `cannot be written: its chunks hold ${total} bytes, not ${size}`);
      if (created) this.#setChunks(ino, 0, hashes, []);
      else this.#replaceContent(ino, at, hashes, size);
    });
  }

  // ---- transactions -------------------------------------------------------------------------

  /**
   * Runs one mutation in a transaction and stamps the paths it touched with a new revision.
   * After a rollback the in-memory mirrors (revision, stored bytes, directory cache) are reloaded.
   */
  #mutate<T>(path: string, fn: () => T): T {
    // Inside a batch, an operation is part of the batch's one transaction.
    if (this.#inTransaction) return fn();
    this.#inTransaction = true;
    const storedBefore = this.#chunks.storedBytes;
    const revBefore = this.#rev;
    try {
      const result = this.#sql.transaction(() => {
        const result = fn();
        this.#commitStamps(path, storedBefore);
        return result;
      });
      if (this.#rev !== revBefore) this.#onChange?.(this.#rev);
      return result;
    } catch (error) {
      this.#dirCache.clear();
      this.#rev = this.#loadRev();
      this.#chunks.storedBytes = storedBefore;
      throw error;
    } finally {
      this.#touched.clear();
      this.#inTransaction = false;
    }
  }

  #commitStamps(path: string, storedBefore: number): void {
    const stored = this.#chunks.storedBytes;
    if (stored > storedBefore && stored > this.maxWorkspaceBytes) {
      throw new FsError(
        "ENOSPC",
        normalizeForMessage(path),
        `cannot be written: the workspace would hold ${stored} bytes, over its limit of ${this.maxWorkspaceBytes}`,
      );
    }
    if (this.#touched.size === 0 || !this.#record) return;
    const rev = this.#rev + 1;
    for (const touched of this.#touched) {
      this.#sql.run(
        "INSERT INTO changes (path, rev, writer) VALUES (?, ?, ?) ON CONFLICT (path) DO UPDATE SET rev = excluded.rev, writer = excluded.writer",
        touched,
        rev,
        this.#writer,
      );
    }
    this.#rev = rev;
  }

  /** The newest revision in the log (indexed: no scan). */
  #loadRev(): number {
    return this.#sql.one<{ rev: number }>("SELECT coalesce(max(rev), 0) AS rev FROM changes")!.rev;
  }

  /** Stream writes cut short by a crash left staged chunks behind: free them. */
  #releaseAbandonedUploads(): void {
    for (const { upload } of this.#sql.all<{ upload: number }>("SELECT DISTINCT upload FROM staged_chunks")) {
      this.closeUpload(upload);
    }
  }

  // ---- path resolution ----------------------------------------------------------------------

  /**
   * Resolves every name of `path` but the last through the directory tree, following symlinks
   * (and the last one too when `followLast`). Fails with ENOENT, ENOTDIR or ELOOP.
   */
  #locate(input: string, followLast: boolean): Located {
    const requested = normalizePath(input);
    let names = splitPath(requested);
    let parent = ROOT_INO;
    let dir = "/";
    let hops = 0;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const last = i === names.length - 1;
      const entry = this.#lookup(parent, name);
      const path = joinPath(dir, name);
      if (!entry) {
        if (last) return { path, parent, name, entry: undefined };
        throw new FsError("ENOENT", requested, `does not exist (there is no ${path})`);
      }
      if (entry.type === INODE_TYPE.symlink && (!last || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) throw new FsError("ELOOP", requested, `has more than ${MAX_SYMLINK_HOPS} levels of symbolic links`);
        const rest = names.slice(i + 1).join("/");
        const target = entry.target!.startsWith("/") ? entry.target! : joinPath(dir, entry.target!);
        names = splitPath(normalizePath(rest ? `${target}/${rest}` : target));
        parent = ROOT_INO;
        dir = "/";
        i = -1;
        if (names.length === 0) break;
        continue;
      }
      if (last) return { path, parent, name, entry };
      if (entry.type !== INODE_TYPE.directory) throw new FsError("ENOTDIR", requested, `is not reachable: ${path} is not a directory`);
      parent = entry.ino;
      dir = path;
    }
    return { path: "/", parent: ROOT_INO, name: "", entry: { ino: ROOT_INO, type: INODE_TYPE.directory, target: null } };
  }

  #existing(path: string, followLast: boolean): Located & { entry: CachedEntry } {
    const located = this.#locate(path, followLast);
    if (!located.entry) throw new FsError("ENOENT", located.path, "does not exist");
    return located as Located & { entry: CachedEntry };
  }

  /** A regular file (following symlinks), or EISDIR / EINVAL. */
  #file(path: string): { ino: number; path: string } {
    const { entry, path: at } = this.#existing(path, true);
    if (entry.type === INODE_TYPE.directory) throw new FsError("EISDIR", at, "is a directory, not a file");
    if (entry.type !== INODE_TYPE.file) throw new FsError("EINVAL", at, "is not a regular file");
    return { ino: entry.ino, path: at };
  }

  /**
   * The file `path` names for writing; when missing (also behind a dangling symlink) it is
   * created with size `size`, and the caller gives it its chunks.
   */
  #openForWrite(path: string, options: WriteOptions, size: number): { ino: number; path: string; created: boolean } {
    const { parent, name, entry, path: at } = this.#probeForWrite(path, options);
    if (entry) return { ino: entry.ino, path: at, created: false };
    const mode = (options.mode ?? 0o644) & 0o7777;
    return { ino: this.#createInode({ parent, name, type: INODE_TYPE.file, mode, path: at, size, owner: options.owner }), path: at, created: true };
  }

  /** Where a write to `path` would go; fails as the write would (EISDIR, EEXIST, ENOENT…). */
  #probeForWrite(path: string, options: WriteOptions): Located {
    const located = this.#locate(path, true);
    if (located.path === "/" || located.entry?.type === INODE_TYPE.directory) throw new FsError("EISDIR", located.path, "is a directory, not a file");
    if (located.entry && options.exclusive) throw new FsError("EEXIST", located.path, "already exists");
    return located;
  }

  #lookup(parent: number, name: string): CachedEntry | undefined {
    const cached = this.#dirCache.get(parent, name);
    if (cached === ABSENT) return undefined;
    if (cached) return cached;
    const row = this.#sql.one<{ ino: number; type: number; target: string | null }>(
      "SELECT d.ino, i.type, i.target FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? AND d.name = ?",
      parent,
      name,
    );
    if (!row) return undefined;
    return this.#dirCache.set(parent, name, { ino: row.ino, type: row.type, target: row.target });
  }

  /** A directory's entries by name; the listing enters the directory cache, so a walk's paths resolve without queries. */
  #children(ino: number): { name: string; ino: number; type: number }[] {
    const rows = this.#sql.all<{ name: string; ino: number; type: number; target: string | null }>(
      // BINARY order of UTF-8 text is code point order, the order compareNames gives.
      "SELECT d.name, d.ino, i.type, i.target FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? ORDER BY d.name",
      ino,
    );
    this.#dirCache.setListing(ino, rows);
    return rows;
  }

  #hasChildren(ino: number): boolean {
    return this.#sql.one("SELECT 1 AS x FROM dirents WHERE parent = ? LIMIT 1", ino) !== undefined;
  }

  /** Paths below directory `ino`, relative (`/a`, `/a/b`), parents before children. */
  *#descendants(ino: number, prefix: string): Generator<string> {
    for (const child of this.#children(ino)) {
      const path = `${prefix}/${child.name}`;
      yield path;
      if (child.type === INODE_TYPE.directory) yield* this.#descendants(child.ino, path);
    }
  }

  /** Every path at which inode `ino` appears (more than one for a hard-linked file). */
  #pathsOf(ino: number): string[] {
    return this.#sql.all<{ parent: number; name: string }>("SELECT parent, name FROM dirents WHERE ino = ?", ino).map(({ parent, name }) => {
      let path = `/${name}`;
      for (let dir = parent; dir !== ROOT_INO; ) {
        const up = this.#sql.one<{ parent: number; name: string }>("SELECT parent, name FROM dirents WHERE ino = ?", dir)!;
        path = `/${up.name}${path}`;
        dir = up.parent;
      }
      return path;
    });
  }

  // ---- inodes and content -------------------------------------------------------------------

  #inode(ino: number): InodeRow {
    return this.#sql.one<InodeRow>("SELECT * FROM inodes WHERE ino = ?", ino)!;
  }

  #createInode(entry: {
    parent: number;
    name: string;
    type: number;
    mode: number;
    path: string;
    target?: string | null;
    size?: number;
    owner?: Owner;
  }): number {
    const { parent, name, type, mode, path, target = null, owner = ROOT_OWNER } = entry;
    const now = this.#now();
    const size = target === null ? (entry.size ?? 0) : encoder.encode(target).length;
    const nlink = type === INODE_TYPE.directory ? 2 : 1;
    const { ino } = this.#sql.one<{ ino: number }>(
      "INSERT INTO inodes (type, mode, uid, gid, size, nlink, atime, mtime, ctime, btime, target) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ino",
      type,
      mode,
      owner.uid,
      owner.gid,
      size,
      nlink,
      now,
      now,
      now,
      now,
      target,
    )!;
    this.#sql.run("INSERT INTO dirents (parent, name, ino) VALUES (?, ?, ?)", parent, name, ino);
    this.#dirCache.set(parent, name, { ino, type, target });
    this.#touchDirectory(parent, now, type === INODE_TYPE.directory ? 1 : 0);
    this.#touched.add(path);
    return ino;
  }

  /** A directory's entries changed: bump its times, and its link count by `linkDelta` subdirectories. */
  #touchDirectory(ino: number, now: number, linkDelta: number): void {
    this.#sql.run("UPDATE inodes SET mtime = ?, ctime = ?, nlink = nlink + ? WHERE ino = ?", now, now, linkDelta, ino);
  }

  #updateInode(path: string, assignments: string, ...values: number[]): void {
    this.#mutate(path, () => {
      const { entry } = this.#existing(path, true);
      this.#sql.run(`UPDATE inodes SET ${assignments}, ctime = ? WHERE ino = ?`, ...values, this.#now(), entry.ino);
      for (const at of this.#pathsOf(entry.ino)) this.#touched.add(at);
    });
  }

  /** Unlinks one name; frees the inode and its chunks with its last name. */
  #removeEntry(parent: number, name: string, entry: CachedEntry, path: string): void {
    const now = this.#now();
    this.#sql.run("DELETE FROM dirents WHERE parent = ? AND name = ?", parent, name);
    this.#dirCache.delete(parent, name);
    const isDir = entry.type === INODE_TYPE.directory;
    this.#touchDirectory(parent, now, isDir ? -1 : 0);
    this.#touched.add(path);
    const { nlink } = this.#sql.one<{ nlink: number }>("UPDATE inodes SET nlink = nlink - 1, ctime = ? WHERE ino = ? RETURNING nlink", now, entry.ino)!;
    if (isDir || nlink <= 0) {
      if (entry.type === INODE_TYPE.file) this.#dropChunks(entry.ino, 0);
      if (isDir) this.#dirCache.forgetDirectory(entry.ino);
      this.#sql.run("DELETE FROM inodes WHERE ino = ?", entry.ino);
    } else {
      for (const other of this.#pathsOf(entry.ino)) this.#touched.add(other);
    }
  }

  /** Removes everything below directory `ino` (children before their directory). */
  #removeTree(ino: number, path: string): void {
    for (const child of this.#children(ino)) {
      const childPath = joinPath(path, child.name);
      if (child.type === INODE_TYPE.directory) this.#removeTree(child.ino, childPath);
      this.#removeEntry(ino, child.name, { ino: child.ino, type: child.type, target: null }, childPath);
    }
  }

  /** The hashes of chunks `from` to `to` (inclusive) of a file; a file's chunk indexes have no gaps. */
  #chunkHashes(ino: number, from = 0, to = Number.MAX_SAFE_INTEGER): string[] {
    return this.#sql
      .all<{ hash: string }>("SELECT hash FROM file_chunks WHERE ino = ? AND idx BETWEEN ? AND ? ORDER BY idx", ino, from, to)
      .map((row) => row.hash);
  }

  #chunkData(hash: string, path: string): Uint8Array {
    const data = this.#chunks.get(hash);
    if (!data) throw new FsError("EIO", path, `is missing content chunk ${hash}`);
    return data;
  }

  #readRange(ino: number, path: string, { byteOffset = 0, byteLength }: ReadOptions): Uint8Array {
    checkOffset(path, byteOffset, "byteOffset");
    if (byteLength !== undefined) checkOffset(path, byteLength, "byteLength");
    const size = this.#inode(ino).size;
    const start = Math.min(byteOffset, size);
    const end = Math.min(size, byteLength === undefined ? size : start + byteLength);
    const out = new Uint8Array(end - start);
    this.#copyRange(ino, path, start, end, out);
    return out;
  }

  /** Copies bytes `start` to `end` (within the file) to the start of `out`. */
  #copyRange(ino: number, path: string, start: number, end: number, out: Uint8Array): void {
    if (end <= start) return;
    const rows = this.#sql.all<{ idx: number; hash: string }>(
      "SELECT idx, hash FROM file_chunks WHERE ino = ? AND idx BETWEEN ? AND ? ORDER BY idx",
      ino,
      Math.floor(start / this.chunkSize),
      Math.floor((end - 1) / this.chunkSize),
    );
    for (const { idx, hash } of rows) {
      const data = this.#chunkData(hash, path);
      const chunkStart = idx * this.chunkSize;
      const from = Math.max(start, chunkStart) - chunkStart;
      const to = Math.min(end, chunkStart + data.byteLength) - chunkStart;
      out.set(data.subarray(from, to), chunkStart + from - start);
    }
  }

  /**
   * Writes `bytes` at `position`, zero-filling any gap past the old end; only the chunks
   * that the write (or the gap) covers are rewritten.
   */
  #writeAt(ino: number, path: string, position: number, bytes: Uint8Array): void {
    const size = this.#inode(ino).size;
    const end = position + bytes.byteLength;
    const newSize = Math.max(size, end);
    if (newSize > this.maxFileSize) throw this.#tooBig(path, newSize);
    // Bytes that change: the write itself, and the zero gap when it starts past the end.
    const changeStart = Math.min(position, size);
    if (end <= changeStart) return;
    const first = Math.floor(changeStart / this.chunkSize);
    const old = this.#chunkHashes(ino, first, Math.floor((end - 1) / this.chunkSize));
    const hashes: string[] = [];
    for (let index = first; index * this.chunkSize < end; index++) {
      const chunkStart = index * this.chunkSize;
      const length = Math.min(this.chunkSize, newSize - chunkStart);
      // A chunk the write covers whole is taken from it as is: no copy, no read of the old one.
      if (position <= chunkStart && end >= chunkStart + length) {
        hashes.push(this.#chunks.put(bytes.subarray(chunkStart - position, chunkStart - position + length)));
        continue;
      }
      const chunk = new Uint8Array(length);
      const previous = old[index - first];
      if (previous !== undefined) chunk.set(this.#chunkData(previous, path));
      const from = Math.max(position, chunkStart);
      const to = Math.min(end, chunkStart + chunk.byteLength);
      if (to > from) chunk.set(bytes.subarray(from - position, to - position), from - chunkStart);
      hashes.push(this.#chunks.put(chunk));
    }
    this.#setChunks(ino, first, hashes, old);
    this.#setSize(ino, path, newSize);
  }

  /**
   * Points chunks `start`, `start + 1`, … of a file at `hashes`, each referenced by the caller,
   * and releases `old`, the chunks they replace.
   */
  #setChunks(ino: number, start: number, hashes: string[], old: string[]): void {
    for (let i = 0; i < hashes.length; i++) {
      if (old[i] === hashes[i]) {
        this.#chunks.unref(hashes[i]!);
        continue;
      }
      this.#sql.run("INSERT OR REPLACE INTO file_chunks (ino, idx, hash) VALUES (?, ?, ?)", ino, start + i, hashes[i]!);
      if (old[i] !== undefined) this.#chunks.unref(old[i]!);
    }
  }

  /** Releases a file's chunks from index `from` on. */
  #dropChunks(ino: number, from: number): void {
    for (const { hash } of this.#sql.all<{ hash: string }>("DELETE FROM file_chunks WHERE ino = ? AND idx >= ? RETURNING hash", ino, from)) {
      this.#chunks.unref(hash);
    }
  }

  /** Makes `hashes` (each referenced by the caller) the whole content of an existing file. */
  #replaceContent(ino: number, path: string, hashes: string[], size: number): void {
    this.#setChunks(ino, 0, hashes, this.#chunkHashes(ino, 0, hashes.length - 1));
    this.#dropChunks(ino, hashes.length);
    this.#setSize(ino, path, size);
  }

  #setSize(ino: number, path: string, size: number): void {
    const now = this.#now();
    const { nlink } = this.#sql.one<{ nlink: number }>("UPDATE inodes SET size = ?, mtime = ?, ctime = ? WHERE ino = ? RETURNING nlink", size, now, now, ino)!;
    if (nlink > 1) for (const other of this.#pathsOf(ino)) this.#touched.add(other);
    else this.#touched.add(path);
  }

  #tooBig(path: string, size: number): FsError {
    return new FsError("EFBIG", path, `would grow to ${size} bytes, over the file size limit of ${this.maxFileSize}`);
  }

  #changeEntry(path: string, rev: number): ChangeEntry {
    let located: Located;
    try {
      located = this.#locate(path, false);
    } catch (error) {
      if (isFsError(error)) return { path, rev, deleted: true };
      throw error;
    }
    // A path counts as present only where it is itself, not through a symlinked parent.
    if (!located.entry || located.path !== path) return { path, rev, deleted: true };
    const node = this.#inode(located.entry.ino);
    const entry: ChangeEntry = { path, rev, deleted: false, stats: toStats(node) };
    if (node.type === INODE_TYPE.file) entry.chunks = this.#chunkHashes(node.ino);
    if (node.type === INODE_TYPE.symlink) entry.target = node.target!;
    return entry;
  }
}

const ROOT_OWNER: Owner = { uid: 0, gid: 0 };

function toStats(row: InodeRow): Stats {
  return {
    ino: row.ino,
    type: TYPE_NAMES[row.type]!,
    mode: row.mode,
    uid: row.uid,
    gid: row.gid,
    size: row.size,
    nlink: row.nlink,
    atimeMs: row.atime,
    mtimeMs: row.mtime,
    ctimeMs: row.ctime,
    birthtimeMs: row.btime,
  };
}

function toBytes(data: string | Uint8Array): Uint8Array {
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  throw new FsError("EINVAL", "(data)", "is neither a string nor bytes");
}

function checkOffset(path: string, value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new FsError("EINVAL", String(path), `cannot take ${what} ${value}; it must be a whole number of bytes, 0 or more`);
  }
}

function normalizeForMessage(path: string): string {
  try {
    return normalizePath(path);
  } catch {
    return String(path);
  }
}
