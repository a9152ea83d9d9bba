import type { ChunkStore } from "./chunks.ts";
import type { ContentIndex } from "./content-index.ts";
import { FsError } from "./errors.ts";
import type { PathResolver } from "./resolver.ts";
import type { SqlDriver } from "./sql.ts";
import type { ReadOptions } from "./types.ts";

/** Files of up to this many chunks are read in one query (see {@link FileContent.chunksOf}). */
const READ_BATCH = 4;

/**
 * A file's content: its list of fixed-size chunks (`file_chunks` rows, by hash) over the
 * {@link ChunkStore}, which keeps the bytes and their reference counts. Ranged reads, positional
 * writes that rewrite only the chunks they cover, truncation, and swapping a whole chunk list.
 *
 * Every write runs inside the engine's transaction and adds the paths whose content changed to
 * `touched` (every name of a hard-linked file), for the engine to stamp at commit, and tells
 * the content index which inode changed.
 */
export class FileContent {
  readonly #sql: SqlDriver;
  readonly #chunks: ChunkStore;
  readonly #resolver: PathResolver;
  readonly #touched: Set<string>;
  readonly #now: () => number;
  readonly #chunkSize: number;
  readonly #maxFileSize: number;
  readonly #index: ContentIndex;

  constructor(
    sql: SqlDriver,
    chunks: ChunkStore,
    resolver: PathResolver,
    touched: Set<string>,
    index: ContentIndex,
    options: { now: () => number; chunkSize: number; maxFileSize: number },
  ) {
    this.#sql = sql;
    this.#index = index;
    this.#chunks = chunks;
    this.#resolver = resolver;
    this.#touched = touched;
    this.#now = options.now;
    this.#chunkSize = options.chunkSize;
    this.#maxFileSize = options.maxFileSize;
  }

  /** Fails with EFBIG when a file would grow to `size` bytes, over the file size limit. */
  checkSize(path: string, size: number): void {
    if (size > this.#maxFileSize) throw new FsError("EFBIG", path, `would grow to ${size} bytes, over the file size limit of ${this.#maxFileSize}`);
  }

  /** Stores `bytes` as chunks (each referenced once, for the caller to hand to a file) and returns their hashes. */
  store(bytes: Uint8Array): string[] {
    const hashes: string[] = [];
    for (let offset = 0; offset < bytes.byteLength; offset += this.#chunkSize) {
      hashes.push(this.#chunks.put(bytes.subarray(offset, offset + this.#chunkSize)));
    }
    return hashes;
  }

  /** The hashes of chunks `from` to `to` (inclusive) of a file; a file's chunk indexes have no gaps. */
  hashes(ino: number, from = 0, to = Number.MAX_SAFE_INTEGER): string[] {
    return this.#sql
      .all<{ hash: string }>("SELECT hash FROM file_chunks WHERE ino = ? AND idx BETWEEN ? AND ? ORDER BY idx", ino, from, to)
      .map((row) => row.hash);
  }

  /** The hashes of a file's chunks, each referenced once more: a copy's content, to `fill` or `replace` another file with. */
  share(ino: number): string[] {
    const hashes = this.hashes(ino);
    for (const hash of hashes) this.#chunks.ref(hash);
    return hashes;
  }

  /**
   * A file's chunks in order, read lazily; the chunk list is read now. A file of up to
   * {@link READ_BATCH} chunks is read in one query; a larger one takes its chunk list first and
   * then each chunk by hash, so a rewrite meanwhile is noticed (ESTALE).
   */
  chunksOf(ino: number, path: string): Generator<Uint8Array> {
    const head = this.#sql.all<{ hash: string; data: Uint8Array | null }>(
      "SELECT f.hash, c.data FROM file_chunks f LEFT JOIN chunks c ON c.hash = f.hash WHERE f.ino = ? AND f.idx < ? ORDER BY f.idx",
      ino,
      READ_BATCH + 1,
    );
    if (head.some((row) => row.data === null)) throw notFetched(path);
    const hashes = head.length > READ_BATCH ? this.hashes(ino) : [];
    const chunks = this.#chunks;
    return (function* () {
      if (head.length <= READ_BATCH) return yield* head.map((row) => row.data!);
      for (const [index, hash] of hashes.entries()) {
        const data = index < head.length && head[index]!.hash === hash ? head[index]!.data : chunks.get(hash);
        if (!data) throw new FsError("ESTALE", path, "changed while it was being read; read it again");
        yield data;
      }
    })();
  }

  /**
   * The chunks of each of `inos` holding at most `maxBytes`, in one query: null for a file whose
   * bytes this replica lacks; empty and larger files are left out.
   */
  chunkLists(inos: number[], maxBytes: number): Map<number, Uint8Array[] | null> {
    const lists = new Map<number, Uint8Array[] | null>();
    const rows = this.#sql.all<{ ino: number; data: Uint8Array | null }>(
      `SELECT f.ino, c.data FROM inodes i JOIN file_chunks f ON f.ino = i.ino LEFT JOIN chunks c ON c.hash = f.hash
       WHERE i.ino IN (SELECT value FROM json_each(?)) AND i.size <= ? ORDER BY f.ino, f.idx`,
      JSON.stringify(inos),
      maxBytes,
    );
    for (const { ino, data } of rows) {
      const list = lists.get(ino);
      if (list === null) continue;
      if (data === null) lists.set(ino, null);
      else if (list) list.push(data);
      else lists.set(ino, [data]);
    }
    return lists;
  }

  /** The bytes `options` names (all by default). */
  read(ino: number, path: string, { byteOffset = 0, byteLength }: ReadOptions): Uint8Array {
    checkOffset(path, byteOffset, "byteOffset");
    if (byteLength !== undefined) checkOffset(path, byteLength, "byteLength");
    const size = this.#size(ino);
    const start = Math.min(byteOffset, size);
    const end = Math.min(size, byteLength === undefined ? size : start + byteLength);
    const out = new Uint8Array(end - start);
    this.#copyRange(ino, path, start, end, out);
    return out;
  }

  /** Copies bytes from `position` into `target`, as many as fit up to the end of the file, and answers how many. */
  readInto(ino: number, path: string, target: Uint8Array, position: number): number {
    checkOffset(path, position, "position");
    const end = Math.min(this.#size(ino), position + target.byteLength);
    this.#copyRange(ino, path, position, end, target);
    return Math.max(0, end - position);
  }

  /**
   * Writes `bytes` at `position`, zero-filling any gap past the old end; only the chunks
   * that the write (or the gap) covers are rewritten.
   */
  writeAt(ino: number, path: string, position: number, bytes: Uint8Array): void {
    const chunkSize = this.#chunkSize;
    const size = this.#size(ino);
    const end = position + bytes.byteLength;
    const newSize = Math.max(size, end);
    this.checkSize(path, newSize);
    // Bytes that change: the write itself, and the zero gap when it starts past the end.
    const changeStart = Math.min(position, size);
    if (end <= changeStart) return;
    const first = Math.floor(changeStart / chunkSize);
    // An empty file (one just created) has no chunks to look up.
    const old = size === 0 ? [] : this.hashes(ino, first, Math.floor((end - 1) / chunkSize));
    const hashes: string[] = [];
    for (let index = first; index * chunkSize < end; index++) {
      const chunkStart = index * chunkSize;
      const length = Math.min(chunkSize, newSize - chunkStart);
      // A chunk the write covers whole is taken from it as is: no copy, no read of the old one.
      if (position <= chunkStart && end >= chunkStart + length) {
        hashes.push(this.#chunks.put(bytes.subarray(chunkStart - position, chunkStart - position + length)));
        continue;
      }
      const chunk = new Uint8Array(length);
      const previous = old[index - first];
      if (previous !== undefined) chunk.set(this.#data(previous, path));
      const from = Math.max(position, chunkStart);
      const to = Math.min(end, chunkStart + chunk.byteLength);
      if (to > from) chunk.set(bytes.subarray(from - position, to - position), from - chunkStart);
      hashes.push(this.#chunks.put(chunk));
    }
    this.#setChunks(ino, first, hashes, old);
    this.#setSize(ino, path, newSize);
  }

  /** Cuts a file to `length` bytes or extends it with zeros. */
  truncate(ino: number, path: string, length: number): void {
    const size = this.#size(ino);
    this.checkSize(path, length);
    if (length >= size) {
      this.writeAt(ino, path, length, new Uint8Array(0));
      return;
    }
    const keep = Math.ceil(length / this.#chunkSize);
    const tail = length % this.#chunkSize;
    if (tail !== 0) {
      const old = this.hashes(ino, keep - 1, keep - 1);
      this.#setChunks(ino, keep - 1, [this.#chunks.put(this.#data(old[0]!, path).subarray(0, tail))], old);
    }
    this.#drop(ino, keep);
    this.#setSize(ino, path, length);
  }

  /** Gives a file just created with its size, and no chunks yet, its content: `hashes`, each referenced by the caller. */
  fill(ino: number, hashes: string[]): void {
    this.#setChunks(ino, 0, hashes, []);
    this.#index.changed(ino);
  }

  /** Makes `hashes` (each referenced by the caller) the whole content of an existing file. */
  replace(ino: number, path: string, hashes: string[], size: number): void {
    this.#setChunks(ino, 0, hashes, this.hashes(ino, 0, hashes.length - 1));
    this.#drop(ino, hashes.length);
    this.#setSize(ino, path, size);
  }

  /** Releases all of a file's chunks (its inode is going). */
  release(ino: number): void {
    this.#drop(ino, 0);
    this.#index.changed(ino);
  }

  #size(ino: number): number {
    return this.#sql.one<{ size: number }>("SELECT size FROM inodes WHERE ino = ?", ino)!.size;
  }

  #data(hash: string, path: string): Uint8Array {
    const data = this.#chunks.get(hash);
    if (!data) throw this.#chunks.has(hash) ? notFetched(path) : new FsError("EIO", path, `is missing content chunk ${hash}`);
    return data;
  }

  /** Copies bytes `start` to `end` (within the file) to the start of `out`. */
  #copyRange(ino: number, path: string, start: number, end: number, out: Uint8Array): void {
    if (end <= start) return;
    const chunkSize = this.#chunkSize;
    const rows = this.#sql.all<{ idx: number; hash: string }>(
      "SELECT idx, hash FROM file_chunks WHERE ino = ? AND idx BETWEEN ? AND ? ORDER BY idx",
      ino,
      Math.floor(start / chunkSize),
      Math.floor((end - 1) / chunkSize),
    );
    for (const { idx, hash } of rows) {
      const data = this.#data(hash, path);
      const chunkStart = idx * chunkSize;
      const from = Math.max(start, chunkStart) - chunkStart;
      const to = Math.min(end, chunkStart + data.byteLength) - chunkStart;
      out.set(data.subarray(from, to), chunkStart + from - start);
    }
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
  #drop(ino: number, from: number): void {
    for (const { hash } of this.#sql.all<{ hash: string }>("DELETE FROM file_chunks WHERE ino = ? AND idx >= ? RETURNING hash", ino, from)) {
      this.#chunks.unref(hash);
    }
  }

  #setSize(ino: number, path: string, size: number): void {
    this.#index.changed(ino);
    const now = this.#now();
    const { nlink } = this.#sql.one<{ nlink: number }>("UPDATE inodes SET size = ?, mtime = ?, ctime = ? WHERE ino = ? RETURNING nlink", size, now, now, ino)!;
    if (nlink > 1) for (const other of this.#resolver.pathsOf(ino)) this.#touched.add(other);
    else this.#touched.add(path);
  }
}

/** A read of content this replica knows only by name (a mount fetches it when the file is opened). */
const notFetched = (path: string) => new FsError("EIO", path, "has content this replica has not fetched yet; open it through the mount to fetch it");

/** Fails with EINVAL unless `value` is a whole number of bytes, 0 or more. */
export function checkOffset(path: string, value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new FsError("EINVAL", String(path), `cannot take ${what} ${value}; it must be a whole number of bytes, 0 or more`);
  }
}
