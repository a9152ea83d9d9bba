import { ChangeLog } from "./change-log.ts";
import { ChunkStore } from "./chunks.ts";
import { checkOffset, FileContent } from "./content.ts";
import { type Candidate, ContentIndex } from "./content-index.ts";
import { DirectoryCache } from "./directory-cache.ts";
import { FsError, isFsError } from "./errors.ts";
import { WorkspaceHistory } from "./history.ts";
import { HistoryStore, type Source } from "./history-store.ts";
import { type InodeRow, Inodes, toStats } from "./inodes.ts";
import { comparePaths, isWithin, joinPath, normalizePath, PATH_MAX, parentOf, splitPath } from "./paths.ts";
import type { LiteralQuery } from "./regex-literals.ts";
import { type Existing, PathResolver } from "./resolver.ts";
import { INODE_TYPE, isSpecialType, migrate, type SpecialFileType, TYPE_NAMES } from "./schema.ts";
import type { SqlDriver } from "./sql.ts";
import type {
  ChangeEntry,
  ChangePage,
  DirEntry,
  DirEntryWithStats,
  Owner,
  ParentsOption,
  ReadOptions,
  Stats,
  Usage,
  WalkEntry,
  WalkOptions,
  WorkspaceFsOptions,
  WriteOptions,
} from "./types.ts";

export type { Candidate, ContentIndexUsage } from "./content-index.ts";
export type { DiffResult, PathDiff, RestoreResult, UndoResult, WorkspaceHistory } from "./history.ts";
export type { ChangeKind, Checkpoint, HistoryEntry, HistoryOptions, PathState, Point, Source } from "./history-store.ts";
export type { LiteralQuery } from "./regex-literals.ts";
export type * from "./types.ts";

const DIRECTORY_CACHE_LIMIT = 100_000;
/** Files the content index takes in per search while it is being built for an existing workspace. */
const INDEX_BUILD_BATCH = 2000;
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
 *
 * This class is the facade and the transaction core; the mechanisms are parts it owns: path
 * resolution (`resolver.ts`), inodes and directory entries (`inodes.ts`), file content over
 * the chunk store (`content.ts`, `chunks.ts`) and the change log (`change-log.ts`).
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
  /** The paths the running mutation touched, stamped with its revision at commit; the parts add to it. */
  readonly #touched = new Set<string>();
  readonly #resolver: PathResolver;
  readonly #content: FileContent;
  readonly #inodes: Inodes;
  readonly #log: ChangeLog;
  readonly #index: ContentIndex;
  readonly #history: HistoryStore | undefined;
  /** Checkpoints, the per-path log, diff, restore and undo; undefined without the `history` option. */
  readonly history: WorkspaceHistory | undefined;
  #inTransaction = false;
  /** False inside a `batch({ record: false })`: its changes stay out of the change log. */
  #record = true;
  /** The sync peer a `batch({ writer })` applies for, stamped beside its revisions. */
  #writer: string | null = null;
  #nextUpload = 1;
  readonly #indexBuildBatch: number;

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
    this.#chunks = new ChunkStore(sql, { deferFrees: options.deferChunkFrees });
    this.#resolver = new PathResolver(sql, this.#dirCache);
    const indexOptions = options.contentIndex ?? true;
    this.#index = new ContentIndex(sql, (inos, maxBytes) => this.#content.chunkLists(inos, maxBytes), indexOptions !== false);
    this.#indexBuildBatch = (typeof indexOptions === "object" ? indexOptions.buildBatch : undefined) ?? INDEX_BUILD_BATCH;
    this.#content = new FileContent(sql, this.#chunks, this.#resolver, this.#touched, this.#index, {
      now: this.#now,
      chunkSize: this.chunkSize,
      maxFileSize: this.maxFileSize,
    });
    this.#inodes = new Inodes(sql, this.#dirCache, this.#resolver, this.#content, this.#touched, this.#now);
    this.#log = new ChangeLog(sql, this.#resolver, this.#inodes, this.#content);
    this.#releaseAbandonedUploads();
    if (options.history) {
      this.#history = new HistoryStore(sql, this.#chunks, this.#now, options.history === true ? {} : options.history);
      this.#history.begin(this.#log.rev, () => this.#everyEntry());
      this.history = new WorkspaceHistory(this, this.#history);
    }
  }

  /**
   * Runs `fn` with every revision it makes recorded as `source`'s (also across awaits, so an
   * async tool call is one source). Without history it only runs `fn`.
   */
  withSource<T>(source: Source, fn: () => T): T {
    return this.#history ? this.#history.withSource(source, fn) : fn();
  }

  /** Every path's state now, for the first versions of a history. */
  *#everyEntry(): Generator<ChangeEntry> {
    const rev = this.#log.rev;
    for (const { path } of this.walk("/")) yield this.#log.entryAt(path, rev);
  }

  /** The revision of the latest mutation (0 for a new workspace). */
  get rev(): number {
    return this.#log.rev;
  }

  // ---- reading ------------------------------------------------------------------------------

  stat(path: string): Stats {
    return toStats(this.#inodes.get(this.#resolver.existing(path, true).entry.ino));
  }

  lstat(path: string): Stats {
    return toStats(this.#inodes.get(this.#resolver.existing(path, false).entry.ino));
  }

  /**
   * As {@link lstat}, but undefined where {@link exists} (not following a symlink) is false:
   * for a caller that asks about names that are often absent (a FUSE lookup), without the cost
   * of an error for each.
   */
  lstatIfExists(path: string): Stats | undefined {
    const entry = this.#locateIfExists(path, false);
    return entry && toStats(this.#inodes.get(entry.ino));
  }

  /** Fails as creating a file at `path` with `exclusive` would (ENOENT, ENOTDIR, EEXIST, ENAMETOOLONG…), changing nothing. */
  checkCreate(path: string): void {
    this.#resolver.probeForWrite(path, { exclusive: true });
  }

  /**
   * An inode number for a file not made yet, to be made with `writeFile(path, data, { ino })`:
   * no other inode will take it. wsd's FUSE `create` answers for a new file with it before the
   * file exists, so the file is made in one transaction with its content (src/wsd/open-files.ts).
   */
  reserveIno(): number {
    return this.#inodes.reserve();
  }

  /** Whether `path` names something; with `followSymlink: false`, a dangling symlink counts (as lstat sees it). */
  exists(path: string, options: { followSymlink?: boolean } = {}): boolean {
    return this.#locateIfExists(path, options.followSymlink ?? true) !== undefined;
  }

  /** What `path` names, or undefined where nothing is (a missing or non-directory parent included); a bad path still throws. */
  #locateIfExists(path: string, followLast: boolean) {
    try {
      return this.#resolver.locate(path, followLast).entry;
    } catch (error) {
      if (isFsError(error) && error.code !== "EINVAL" && error.code !== "ENAMETOOLONG") return undefined;
      throw error;
    }
  }

  /** The path with every symlink resolved. */
  realpath(path: string): string {
    return this.#resolver.existing(path, true).path;
  }

  readlink(path: string): string {
    const { path: at, entry } = this.#resolver.existing(path, false);
    if (entry.type !== INODE_TYPE.symlink) throw new FsError("EINVAL", at, "is not a symbolic link");
    return entry.target!;
  }

  /** A file's bytes, or the part of them `options` names. */
  readFile(path: string, options?: ReadOptions): Uint8Array;
  /** A file's text, decoded as UTF-8 (invalid bytes become U+FFFD). */
  readFile(path: string, options: ReadOptions & { encoding: "utf8" }): string;
  readFile(path: string, options: ReadOptions & { encoding?: "utf8" } = {}): Uint8Array | string {
    const { ino, path: at } = this.#resolver.file(path);
    const bytes = this.#content.read(ino, at, options);
    return options.encoding === "utf8" ? decoder.decode(bytes) : bytes;
  }

  /**
   * Copies the file's bytes from `position` into `target` (as many as fit, up to the end of the
   * file) and answers how many: a read with no allocation, for the FUSE mount.
   */
  readInto(path: string, target: Uint8Array, position: number): number {
    const { ino, path: at } = this.#resolver.file(path);
    return this.#content.readInto(ino, at, target, position);
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
   * no file. A small file is read in one query; a larger one takes its chunk list first and
   * then each chunk by hash, so a rewrite meanwhile is noticed (ESTALE).
   */
  chunksOf(path: string): Generator<Uint8Array> {
    const { ino, path: at } = this.#resolver.file(path);
    return this.#content.chunksOf(ino, at);
  }

  /** The entries of a directory, sorted by name. */
  readdir(path: string): DirEntry[];
  readdir(path: string, options: { withStats: true }): DirEntryWithStats[];
  readdir(path: string, options: { withStats?: boolean } = {}): DirEntry[] | DirEntryWithStats[] {
    const { entry, path: at } = this.#resolver.existing(path, true);
    if (entry.type !== INODE_TYPE.directory) throw new FsError("ENOTDIR", at, "is not a directory");
    if (!options.withStats) {
      return this.#resolver.children(entry.ino).map(({ name, type }) => ({ name, type: TYPE_NAMES[type]! }));
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
    const resolver = this.#resolver;
    const { entry, path: root } = resolver.existing(path, true);
    if (entry.type !== INODE_TYPE.directory) throw new FsError("ENOTDIR", root, "is not a directory");
    const maxDepth = options.maxDepth ?? Infinity;
    const after = options.after === undefined ? undefined : normalizePath(options.after);
    const visit = function* (ino: number, dir: string, depth: number): Generator<WalkEntry> {
      for (const child of resolver.children(ino)) {
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
        if (isDir && depth < maxDepth) yield* visit(child.ino, childPath, depth + 1);
      }
    };
    yield* visit(entry.ino, root, 1);
  }

  /**
   * The files that may hold a line with every literal `query` requires (see `requiredLiterals`),
   * each at every path it has, in sorted walk order: those the content index finds, and those it
   * cannot rule out. Undefined with the index off. Each call first indexes a batch of the files
   * written since the last (and, for a workspace older than its index, of those never indexed).
   */
  searchCandidates(query: LiteralQuery): Candidate[] | undefined {
    if (!this.#index.enabled) return undefined;
    this.buildContentIndex(this.#indexBuildBatch);
    return this.#index.candidates(query);
  }

  /**
   * Indexes up to `limit` files written since they were indexed or never indexed, and answers
   * how many remain (searches read those meanwhile). Searches call it as they go; a host may
   * call it when idle.
   */
  buildContentIndex(limit = this.#indexBuildBatch): number {
    if (!this.#index.enabled) return 0;
    // Inside a batch, in the batch's transaction (its writes so far are pending in it).
    return this.#inTransaction ? this.#index.build(limit) : this.#sql.transaction(() => this.#index.build(limit));
  }

  /**
   * The chunks of each of `paths` that names a file of at most `maxBytes`, read in one query (a
   * search reads many small files); undefined for the others (empty, larger, missing, or with
   * bytes this replica lacks), which the caller reads with {@link chunksOf}.
   */
  readSmallFiles(paths: string[], maxBytes: number): (Uint8Array[] | undefined)[] {
    const inos = paths.map((path) => {
      try {
        return this.#resolver.file(path).ino;
      } catch (error) {
        if (isFsError(error)) return undefined;
        throw error;
      }
    });
    const lists = this.#content.chunkLists(
      inos.filter((ino) => ino !== undefined),
      maxBytes,
    );
    return inos.map((ino) => (ino === undefined ? undefined : (lists.get(ino) ?? undefined)));
  }

  usage(): Usage {
    const counts = this.#sql.all<{ type: number; n: number; bytes: number }>(
      "SELECT type, count(*) AS n, coalesce(sum(size), 0) AS bytes FROM inodes GROUP BY type",
    );
    const of = (type: number) => counts.find((row) => row.type === type);
    const logicalBytes = of(INODE_TYPE.file)?.bytes ?? 0;
    const storedBytes = this.#chunks.storedBytes;
    const liveBytes = this.#history ? this.#history.liveBytes() : storedBytes;
    return {
      files: of(INODE_TYPE.file)?.n ?? 0,
      directories: of(INODE_TYPE.directory)?.n ?? 0,
      symlinks: of(INODE_TYPE.symlink)?.n ?? 0,
      specialFiles: counts.filter((row) => isSpecialType(row.type)).reduce((sum, row) => sum + row.n, 0),
      logicalBytes,
      storedBytes,
      liveBytes,
      historyBytes: storedBytes - liveBytes,
      ...(this.#history ? { history: { ...this.#history.counts(), since: this.#history.since } } : {}),
      dedupSavedBytes: Math.max(0, logicalBytes - liveBytes),
      ...(this.#index.enabled ? { contentIndex: this.#index.usage() } : {}),
      chunks: this.#chunks.count(),
      maxWorkspaceBytes: this.maxWorkspaceBytes,
      maxFileSize: this.maxFileSize,
      rev: this.#log.rev,
    };
  }

  /**
   * What changed after revision `since`: one entry per path, in its latest state (or a
   * tombstone), ordered by revision. A page holds at least `limit` entries unless the log
   * ends, and never splits one revision, so the returned `rev` is a safe cursor.
   */
  changesSince(since: number, options: { limit?: number } = {}): ChangePage {
    return this.#log.changesSince(since, options);
  }

  // ---- writing ------------------------------------------------------------------------------

  /** Creates or replaces a file with `data` (a string is written as UTF-8). */
  writeFile(path: string, data: string | Uint8Array, options: WriteOptions = {}): void {
    const bytes = toBytes(data);
    this.#mutate(path, () => {
      const { ino, path: at, created } = this.#openForWrite(path, options, bytes.byteLength);
      this.#content.checkSize(at, bytes.byteLength);
      const hashes = this.#content.store(bytes);
      if (created) this.#content.fill(ino, hashes);
      else this.#content.replace(ino, at, hashes, bytes.byteLength);
    });
  }

  /**
   * Creates or replaces a file from a stream, holding one chunk in memory at a time. Chunks
   * are staged as they arrive and the file switches to them in one final transaction: a stream
   * that fails midway (or a quota hit) leaves the old file, or none, and frees what was staged.
   * With `parents`, the missing directories are made in that final transaction too.
   */
  async writeFileStream(path: string, source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>, options: WriteOptions = {}): Promise<void> {
    const at = this.#probeStreamTarget(path, options);
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
        this.#content.checkSize(at, size);
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
        if (created) this.#content.fill(ino, hashes);
        else this.#content.replace(ino, target, hashes, size);
      });
    } catch (error) {
      this.closeUpload(upload);
      throw error;
    }
  }

  /** Appends to a file, creating it when missing. */
  appendFile(path: string, data: string | Uint8Array, options: Pick<WriteOptions, "mode" | "owner" | "parents"> = {}): void {
    const bytes = toBytes(data);
    this.#mutate(path, () => {
      const { ino, path: at } = this.#openForWrite(path, options, 0);
      this.#content.writeAt(ino, at, this.#inodes.get(ino).size, bytes);
    });
  }

  /** Writes `data` at byte `position` of an existing file, rewriting only the chunks it touches. */
  write(path: string, data: Uint8Array | string, position: number): number {
    const bytes = toBytes(data);
    checkOffset(path, position, "position");
    this.#mutate(path, () => {
      const { ino, path: at } = this.#resolver.file(path);
      this.#content.writeAt(ino, at, position, bytes);
    });
    return bytes.byteLength;
  }

  /** Cuts a file to `length` bytes or extends it with zeros. */
  truncate(path: string, length = 0): void {
    checkOffset(path, length, "length");
    this.#mutate(path, () => {
      const { ino, path: at } = this.#resolver.file(path);
      this.#content.truncate(ino, at, length);
    });
  }

  /**
   * Creates a directory. With `recursive`, creates missing parents too and succeeds when the
   * directory exists; returns the first directory it created.
   */
  mkdir(path: string, options: { recursive?: boolean; mode?: number; owner?: Owner } = {}): string | undefined {
    const mode = (options.mode ?? 0o755) & 0o7777;
    return this.#mutate(path, () => {
      if (options.recursive) return this.#makeDirectories(normalizePath(path), mode, options.owner, false);
      const { parent, name, entry, path: at } = this.#resolver.locate(path, true);
      if (entry || at === "/") throw new FsError("EEXIST", at, "already exists");
      this.#inodes.create({ parent, name, type: INODE_TYPE.directory, mode, path: at, owner: options.owner });
      return at;
    });
  }

  /** Removes a file or symlink (never a directory: EISDIR). */
  unlink(path: string): void {
    this.#mutate(path, () => {
      const { parent, name, entry, path: at } = this.#resolver.existing(path, false);
      if (entry.type === INODE_TYPE.directory) throw new FsError("EISDIR", at, "is a directory; remove it with rmdir or rm");
      this.#inodes.unlink(parent, name, entry, at);
    });
  }

  /** Removes an empty directory. */
  rmdir(path: string): void {
    this.#mutate(path, () => {
      const { parent, name, entry, path: at } = this.#resolver.existing(path, false);
      if (entry.type !== INODE_TYPE.directory) throw new FsError("ENOTDIR", at, "is not a directory");
      if (at === "/") throw new FsError("EPERM", at, "is the workspace root, which cannot be removed");
      if (this.#resolver.hasChildren(entry.ino)) throw new FsError("ENOTEMPTY", at, "is a directory that is not empty");
      this.#inodes.unlink(parent, name, entry, at);
    });
  }

  /**
   * Removes a file, symlink or empty directory; with `recursive`, a directory and everything
   * in it. With `force`, a missing path is not an error.
   */
  rm(path: string, options: { recursive?: boolean; force?: boolean } = {}): void {
    this.#mutate(path, () => {
      let located: Existing;
      try {
        located = this.#resolver.existing(path, false);
      } catch (error) {
        if (options.force && isFsError(error, "ENOENT")) return;
        throw error;
      }
      const { parent, name, entry, path: at } = located;
      if (at === "/") throw new FsError("EPERM", at, "is the workspace root, which cannot be removed");
      if (entry.type === INODE_TYPE.directory && this.#resolver.hasChildren(entry.ino)) {
        if (!options.recursive) {
          throw new FsError("ENOTEMPTY", at, "is a directory that is not empty; pass recursive to remove it with everything in it");
        }
        this.#inodes.removeTree(entry.ino, at);
      }
      this.#inodes.unlink(parent, name, entry, at);
    });
  }

  /**
   * Moves `from` to `to` atomically with rename(2)'s rules: an existing `to` is replaced when
   * it is a file (and `from` is not a directory) or an empty directory (and `from` is one).
   * Moving a directory rewrites one row, however large the tree below it.
   */
  rename(from: string, to: string, options: ParentsOption = {}): void {
    this.#mutate(from, () => {
      const source = this.#resolver.existing(from, false);
      if (options.parents) this.#makeParents(to);
      const target = this.#resolver.locate(to, false);
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
        if (targetIsDir && this.#resolver.hasChildren(target.entry.ino)) throw new FsError("ENOTEMPTY", target.path, "is a directory that is not empty");
        this.#inodes.unlink(target.parent, target.name, target.entry, target.path);
      }
      const moved = isDir ? [...this.#resolver.descendants(source.entry.ino, "")] : [];
      this.#sql.run("UPDATE dirents SET parent = ?, name = ? WHERE parent = ? AND name = ?", target.parent, target.name, source.parent, source.name);
      this.#dirCache.delete(source.parent, source.name);
      this.#dirCache.set(target.parent, target.name, source.entry);
      const now = this.#now();
      const linkDelta = isDir ? 1 : 0;
      this.#inodes.touchDirectory(source.parent, now, -linkDelta);
      this.#inodes.touchDirectory(target.parent, now, linkDelta);
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
  copy(from: string, to: string, options: ParentsOption & { recursive?: boolean; exclusive?: boolean } = {}): void {
    this.#mutate(to, () => {
      const source = this.#resolver.existing(from, true);
      if (options.parents) this.#makeParents(to);
      const target = this.#resolver.locate(to, true);
      const sourceIsDir = source.entry.type === INODE_TYPE.directory;
      if (target.path === "/" || target.entry?.type === INODE_TYPE.directory) {
        throw new FsError(sourceIsDir ? "EEXIST" : "EISDIR", target.path, sourceIsDir ? "already exists" : "is a directory; name the file to create inside it");
      }
      if (target.entry && target.entry.ino === source.entry.ino) throw new FsError("EINVAL", target.path, `is ${source.path} itself`);
      if (!sourceIsDir) {
        if (target.entry && options.exclusive) throw new FsError("EEXIST", target.path, "already exists");
        const node = this.#inodes.get(source.entry.ino);
        if (isSpecialType(node.type)) {
          // A FIFO, socket or device holds nothing to copy: the copy is another node like it.
          if (target.entry) this.#inodes.unlink(target.parent, target.name, target.entry, target.path);
          return void this.#inodes.create({ parent: target.parent, name: target.name, type: node.type, mode: node.mode, rdev: node.rdev, path: target.path });
        }
        const hashes = this.#content.share(node.ino);
        if (target.entry) return this.#content.replace(target.entry.ino, target.path, hashes, node.size);
        const ino = this.#inodes.create({
          parent: target.parent,
          name: target.name,
          type: INODE_TYPE.file,
          mode: node.mode,
          path: target.path,
          size: node.size,
        });
        return this.#content.fill(ino, hashes);
      }
      if (!options.recursive) throw new FsError("EISDIR", source.path, "is a directory; pass recursive to copy it with everything in it");
      if (target.entry) throw new FsError("EEXIST", target.path, "already exists");
      if (isWithin(target.path, source.path)) throw new FsError("EINVAL", target.path, `is inside ${source.path}; a directory cannot be copied into itself`);
      this.#copyTree(source.entry.ino, target.parent, target.name, target.path);
    });
  }

  #copyTree(ino: number, parent: number, name: string, path: string): void {
    const node = this.#inodes.get(ino);
    const copy = this.#inodes.create({ parent, name, type: node.type, mode: node.mode, target: node.target, path, size: node.size, rdev: node.rdev });
    if (node.type === INODE_TYPE.file) this.#content.fill(copy, this.#content.share(ino));
    if (node.type === INODE_TYPE.directory) {
      for (const child of this.#resolver.children(ino)) this.#copyTree(child.ino, copy, child.name, joinPath(path, child.name));
    }
  }

  /** Creates a symbolic link at `path` pointing to `target` (relative to the link's directory, or absolute). */
  symlink(target: string, path: string, options: ParentsOption & { owner?: Owner } = {}): void {
    if (typeof target !== "string" || target === "" || target.includes("\0")) {
      throw new FsError("EINVAL", String(path), "needs a non-empty symlink target without NUL bytes");
    }
    if (encoder.encode(target).length > PATH_MAX) throw new FsError("ENAMETOOLONG", String(path), `has a symlink target longer than ${PATH_MAX} bytes`);
    this.#mutate(path, () => {
      if (options.parents) this.#makeParents(path);
      const { parent, name, entry, path: at } = this.#resolver.locate(path, false);
      if (entry || at === "/") throw new FsError("EEXIST", at, "already exists");
      this.#inodes.create({ parent, name, type: INODE_TYPE.symlink, mode: 0o777, target, path: at, owner: options.owner });
    });
  }

  /**
   * Creates a special file at `path` (what `mknod(2)`, `mkfifo` and binding a Unix socket make):
   * a node with a type, permission bits, an owner and, for a device, its number (`rdev`). It
   * holds no content: reading or writing it here fails with EINVAL; through a mount, the kernel
   * serves it (a FIFO's pipe, a device's driver).
   */
  mknod(path: string, type: SpecialFileType, options: ParentsOption & { mode?: number; rdev?: number; owner?: Owner } = {}): void {
    if (!(type in INODE_TYPE) || !isSpecialType(INODE_TYPE[type])) {
      throw new FsError("EINVAL", String(path), `cannot make a node of type ${String(type)}; give fifo, socket, character-device or block-device`);
    }
    const rdev = options.rdev ?? 0;
    if (!Number.isInteger(rdev) || rdev < 0 || rdev > Number.MAX_SAFE_INTEGER) throw new FsError("EINVAL", String(path), `cannot take device number ${rdev}`);
    this.#mutate(path, () => {
      if (options.parents) this.#makeParents(path);
      const { parent, name, entry, path: at } = this.#resolver.locate(path, false);
      if (entry || at === "/") throw new FsError("EEXIST", at, "already exists");
      const isDevice = type === "character-device" || type === "block-device";
      const mode = (options.mode ?? 0o644) & 0o7777;
      this.#inodes.create({ parent, name, type: INODE_TYPE[type], mode, rdev: isDevice ? rdev : 0, path: at, owner: options.owner });
    });
  }

  /** Makes `newPath` another name of the file or symlink at `existing` (a hard link). */
  link(existing: string, newPath: string): void {
    this.#mutate(newPath, () => {
      const source = this.#resolver.existing(existing, false);
      if (source.entry.type === INODE_TYPE.directory) throw new FsError("EPERM", source.path, "is a directory; directories cannot be hard-linked");
      const target = this.#resolver.locate(newPath, false);
      if (target.entry || target.path === "/") throw new FsError("EEXIST", target.path, "already exists");
      const now = this.#now();
      this.#sql.run("INSERT INTO dirents (parent, name, ino) VALUES (?, ?, ?)", target.parent, target.name, source.entry.ino);
      this.#dirCache.set(target.parent, target.name, source.entry);
      this.#sql.run("UPDATE inodes SET nlink = nlink + 1, ctime = ? WHERE ino = ?", now, source.entry.ino);
      this.#inodes.touchDirectory(target.parent, now, 0);
      for (const path of this.#resolver.pathsOf(source.entry.ino)) this.#touched.add(path);
    });
  }

  chmod(path: string, mode: number): void {
    if (!Number.isInteger(mode) || mode < 0) throw new FsError("EINVAL", String(path), `cannot take mode ${mode}; give permission bits such as 0o644`);
    this.#updateInode(path, "mode = ?", [mode & 0o7777], true);
  }

  /** Sets the owner of what `path` names, following a symlink to its target (see {@link lchown}). */
  chown(path: string, uid: number, gid: number): void {
    this.#setOwner(path, true, uid, gid);
  }

  /** As {@link chown}, but a symlink itself is changed, not its target. */
  lchown(path: string, uid: number, gid: number): void {
    this.#setOwner(path, false, uid, gid);
  }

  #setOwner(path: string, followSymlink: boolean, uid: number, gid: number): void {
    for (const id of [uid, gid]) {
      if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new FsError("EINVAL", String(path), `cannot take owner id ${id}`);
    }
    this.#updateInode(path, "uid = ?, gid = ?", [uid, gid], followSymlink);
  }

  /** Sets access and modification times (milliseconds since the epoch, or Dates), following a symlink (see {@link lutimes}). */
  utimes(path: string, atime: number | Date, mtime: number | Date): void {
    this.#setTimes(path, true, atime, mtime);
  }

  /** As {@link utimes}, but a symlink's own times are set, not its target's. */
  lutimes(path: string, atime: number | Date, mtime: number | Date): void {
    this.#setTimes(path, false, atime, mtime);
  }

  #setTimes(path: string, followSymlink: boolean, atime: number | Date, mtime: number | Date): void {
    const times = [atime, mtime].map((time) => (time instanceof Date ? time.getTime() : time));
    if (times.some((time) => typeof time !== "number" || !Number.isFinite(time))) {
      throw new FsError("EINVAL", String(path), "needs times as finite milliseconds since the epoch or Dates");
    }
    this.#updateInode(path, "atime = ?, mtime = ?", [Math.round(times[0]!), Math.round(times[1]!)], followSymlink);
  }

  /**
   * Where a stream write to `path` will go, checked before the stream is read so that a write
   * doomed to fail does not read it; with `parents`, a missing directory on the way is made at
   * the end, so it is no failure yet.
   */
  #probeStreamTarget(path: string, options: WriteOptions): string {
    try {
      return this.#resolver.probeForWrite(path, options).path;
    } catch (error) {
      if (options.parents && isFsError(error, "ENOENT")) return normalizePath(path);
      throw error;
    }
  }

  /**
   * The file `path` names for writing; when missing (also behind a dangling symlink) it is
   * created with size `size`, and the caller gives it its chunks.
   */
  #openForWrite(path: string, options: WriteOptions, size: number): { ino: number; path: string; created: boolean } {
    if (options.parents) this.#makeParents(path);
    const { parent, name, entry, path: at } = this.#resolver.probeForWrite(path, options);
    if (entry) return { ino: entry.ino, path: at, created: false };
    const mode = (options.mode ?? 0o644) & 0o7777;
    const ino = this.#inodes.create({ parent, name, type: INODE_TYPE.file, mode, path: at, size, owner: options.owner, ino: options.ino });
    this.#index.changed(ino);
    return { ino, path: at, created: true };
  }

  /** For `parents`: makes the missing directories above `path`, as `mkdir(parent, { recursive: true })` would. */
  #makeParents(path: string): void {
    this.#makeDirectories(parentOf(normalizePath(path)), 0o755, undefined, true);
  }

  /**
   * `mkdir -p`: makes each missing directory down to `wanted` (normalized) and returns the first
   * it made. A non-directory on the way fails with ENOTDIR, and at `wanted` itself with EEXIST
   * unless the caller acts `below` it.
   */
  #makeDirectories(wanted: string, mode: number, owner: Owner | undefined, below: boolean): string | undefined {
    let first: string | undefined;
    let dir = "/";
    for (const name of splitPath(wanted)) {
      const { parent, entry, path: at } = this.#resolver.locate(joinPath(dir, name), true);
      if (!entry) {
        this.#inodes.create({ parent, name, type: INODE_TYPE.directory, mode, path: at, owner });
        first ??= at;
      } else if (entry.type !== INODE_TYPE.directory) {
        throw new FsError(at === wanted && !below ? "EEXIST" : "ENOTDIR", at, "exists and is not a directory");
      }
      dir = at;
    }
    return first;
  }

  #updateInode(path: string, assignments: string, values: number[], followSymlink: boolean): void {
    this.#mutate(path, () => {
      const { entry, path: at } = this.#resolver.existing(path, followSymlink);
      const { nlink } = this.#sql.one<{ nlink: number }>(
        `UPDATE inodes SET ${assignments}, ctime = ? WHERE ino = ? RETURNING nlink`,
        ...values,
        this.#now(),
        entry.ino,
      )!;
      // Every name of a hard-linked file changed; anything else has the one name it was reached by.
      if (entry.type === INODE_TYPE.file && nlink > 1) for (const other of this.#resolver.pathsOf(entry.ino)) this.#touched.add(other);
      else this.#touched.add(at);
    });
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

  /**
   * The last change to `path`: its revision (0 if none) and the sync peer that pushed it, if one
   * did. Sync compares the revision with a peer's base.
   */
  lastChange(path: string): { rev: number; writer: string | null } {
    return this.#log.lastChange(path);
  }

  /** `path`'s entry as {@link changesSince} would give it now (its state or a tombstone, with its last change's revision). */
  changeOf(path: string): ChangeEntry {
    return this.#log.changeOf(path);
  }

  /** A sync cursor kept in the workspace's own database (0 until set), so a restart resumes. */
  cursor(name: string): number {
    return this.#log.cursor(name);
  }

  setCursor(name: string, value: number): void {
    this.#log.setCursor(name, value);
  }

  /** The cursors whose names start with `prefix` (e.g. every file a sync peer holds back). */
  cursors(prefix: string): { name: string; value: number }[] {
    return this.#log.cursors(prefix);
  }

  deleteCursor(name: string): void {
    this.#log.deleteCursor(name);
  }

  /**
   * Deletes the bytes of up to `limit` chunks nothing references any more (kept by
   * `deferChunkFrees`) and answers how many; 0 when there are none left.
   */
  collectGarbage(limit = 1000): number {
    const { garbageBytes, absentChunks } = this.#chunks;
    try {
      return this.#sql.transaction(() => this.#chunks.collect(limit));
    } catch (error) {
      Object.assign(this.#chunks, { garbageBytes, absentChunks });
      throw error;
    }
  }

  /** Bytes of content something references, each distinct chunk once (`usage().storedBytes`, without a query). */
  get storedBytes(): number {
    return this.#chunks.storedBytes;
  }

  /** Bytes of content nothing references, kept by `deferChunkFrees` until {@link collectGarbage}. */
  get garbageBytes(): number {
    return this.#chunks.garbageBytes;
  }

  /** Bytes of new content stored since this engine was opened (it only grows; rolled back writes count too). */
  get contentWrittenBytes(): number {
    return this.#chunks.writtenBytes;
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
    return this.stageChunks(upload, [data])[0]!;
  }

  /**
   * Stores chunks for `upload` in one transaction and returns their hashes, in order: a
   * transaction per chunk made staging a push of small files cost 3x its work (measured).
   */
  stageChunks(upload: number, chunks: Uint8Array[]): string[] {
    return this.#mutate("/", () =>
      chunks.map((data) => {
        const hash = this.#chunks.put(data);
        this.#stage(upload, hash);
        return hash;
      }),
    );
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

  /**
   * Adds to `upload` a hold on each chunk of `chunks` (hash and size) that is not stored here,
   * recording it as absent: a page of changes can then be applied before the content is
   * fetched (a cold mount), and {@link fillChunk} supplies the bytes when a file is opened.
   */
  holdAbsentChunks(upload: number, chunks: { hash: string; size: number }[]): void {
    this.#mutate("/", () => {
      for (const { hash, size } of chunks) {
        if (this.#chunks.has(hash)) continue;
        this.#chunks.reference(hash, size);
        this.#stage(upload, hash);
      }
    });
  }

  /** Supplies the bytes of a chunk held as absent; answers its hash. */
  fillChunk(data: Uint8Array): string {
    return this.#mutate("/", () => this.#chunks.fill(data));
  }

  /** Bytes of content present in this database that something references (a cache limit counts these). */
  contentBytes(): number {
    return this.#chunks.presentBytes();
  }

  /**
   * Drops the bytes of up to `limit` referenced chunks that `keep` does not name: a replica
   * over its cache limit gives back content its workspace holds (it is fetched again when a
   * file is opened). Answers the bytes dropped.
   */
  evictContent(limit: number, keep: ReadonlySet<string>): number {
    return this.#mutate("/", () => this.#chunks.evict(limit, keep));
  }

  /** The chunks of the file at `path` whose bytes this replica lacks (none, at once, when it lacks none). */
  absentChunksOf(path: string): string[] {
    if (this.#chunks.absentChunks === 0) return [];
    const { ino } = this.#resolver.file(path);
    return this.#sql
      .all<{ hash: string }>("SELECT DISTINCT f.hash FROM file_chunks f WHERE f.ino = ? AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.hash = f.hash)", ino)
      .map((row) => row.hash);
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
      this.#content.checkSize(at, size);
      let total = 0;
      for (const [i, hash] of hashes.entries()) {
        // A throw rolls back the references already counted.
        const stored = this.#chunks.ref(hash);
        if (stored === undefined) throw new FsError("EIO", at, `cannot be written: chunk ${hash} is not stored here`);
        // Chunk i holds bytes from i * chunkSize: every one but the last must be full.
        if (i < hashes.length - 1 && stored !== this.chunkSize) {
          throw new FsError("EINVAL", at, `cannot be written: chunk ${i + 1} of ${hashes.length} holds ${stored} bytes, not ${this.chunkSize}`);
        }
        total += stored;
      }
      if (total !== size) throw new FsError("EINVAL", at, `cannot be written: its chunks hold ${total} bytes, not ${size}`);
      if (created) this.#content.fill(ino, hashes);
      else this.#content.replace(ino, at, hashes, size);
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
    this.#inodes.cacheRows(false);
    const storedBefore = this.#chunks.storedBytes;
    const garbageBefore = this.#chunks.garbageBytes;
    const absentBefore = this.#chunks.absentChunks;
    const revBefore = this.#log.rev;
    try {
      const result = this.#sql.transaction(() => {
        const result = fn();
        this.#index.flush();
        this.#commitStamps(path, storedBefore);
        return result;
      });
      if (this.#log.rev !== revBefore) this.#onChange?.(this.#log.rev);
      return result;
    } catch (error) {
      this.#index.discard();
      this.#dirCache.clear();
      this.#log.reload();
      this.#chunks.storedBytes = storedBefore;
      this.#chunks.garbageBytes = garbageBefore;
      this.#chunks.absentChunks = absentBefore;
      throw error;
    } finally {
      this.#touched.clear();
      this.#inTransaction = false;
      this.#inodes.cacheRows(true);
    }
  }

  #commitStamps(path: string, storedBefore: number): void {
    if (this.#touched.size > 0 && this.#record) {
      this.#log.stamp(this.#touched, this.#writer);
      const rev = this.#log.rev;
      this.#history?.record(
        rev,
        [...this.#touched].map((at) => this.#log.entryAt(at, rev)),
      );
    }
    const over = () => this.#chunks.storedBytes > storedBefore && this.#chunks.storedBytes > this.maxWorkspaceBytes;
    // History never makes a write fail: past the quota, the oldest of it goes first.
    if (over()) this.#history?.trim(over);
    if (over()) {
      throw new FsError(
        "ENOSPC",
        normalizeForMessage(path),
        `cannot be written: the workspace would hold ${this.#chunks.storedBytes} bytes, over its limit of ${this.maxWorkspaceBytes}`,
      );
    }
  }

  /** Stream writes cut short by a crash left staged chunks behind: free them. */
  #releaseAbandonedUploads(): void {
    for (const { upload } of this.#sql.all<{ upload: number }>("SELECT DISTINCT upload FROM staged_chunks")) {
      this.closeUpload(upload);
    }
  }
}

function toBytes(data: string | Uint8Array): Uint8Array {
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  throw new FsError("EINVAL", "(data)", "is neither a string nor bytes");
}

function normalizeForMessage(path: string): string {
  try {
    return normalizePath(path);
  } catch {
    return String(path);
  }
}
