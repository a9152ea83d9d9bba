import { createHash } from "node:crypto";
import type { SqlDriver } from "./sql.ts";

/** Chunks kept after a read (1 MiB at the default chunk size). */
const RECENT_CHUNKS = 4;

export const hashChunk = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

/**
 * Content-addressed chunk storage with reference counts. Every call runs inside the caller's
 * transaction. A chunk exists exactly while something references it: `put` creates it (or
 * counts one more user), `unref` frees it with its last user. Counts live in `chunk_refs`, a
 * small row per chunk, so counting a reference never rewrites the chunk's bytes.
 *
 * `storedBytes` (the sum of the sizes of referenced chunks) is kept in memory for quota checks,
 * and `garbageBytes` (chunks nothing references, not yet collected) for the cache's bound; both
 * are summed up on open, and the engine sets them back after a rollback.
 *
 * With `deferFrees`, a chunk whose last reference goes keeps its bytes (a row with no
 * references) until {@link ChunkStore.collect} deletes them, when the caller is idle: deleting a
 * blob makes SQLite read every page of it, which would double the cost of an overwrite. Such a
 * chunk still counts as stored (`has`), so it can be taken again without its bytes moving.
 *
 * A replica may know a chunk before it has its bytes (a mount that fetches content on first
 * open): {@link ChunkStore.reference} counts a reference to a chunk whose bytes are **absent**,
 * and {@link ChunkStore.fill} supplies them later. `has` is true for such a chunk (it is
 * counted; sync need not send it again); `get` answers undefined until it is filled.
 *
 * The last few chunks read stay in memory: a chunk is immutable (its name is its content), and
 * FUSE reads a 256 KiB chunk in two or more pieces, each of which would read the blob again.
 */
export class ChunkStore {
  storedBytes: number;
  garbageBytes: number;
  /** Chunks counted whose bytes are absent (0 in a replica that fetched everything). */
  absentChunks: number;
  /** Bytes of chunks stored since this store was opened, rolled back ones included (it only grows). */
  writtenBytes = 0;
  readonly #sql: SqlDriver;
  readonly #recent = new Map<string, Uint8Array>();
  readonly #deferFrees: boolean;

  constructor(sql: SqlDriver, options: { deferFrees?: boolean } = {}) {
    this.#sql = sql;
    this.#deferFrees = options.deferFrees ?? false;
    const sums = sql.one<{ stored: number; garbage: number }>(
      "SELECT coalesce(sum(CASE WHEN refs > 0 THEN size END), 0) AS stored, coalesce(sum(CASE WHEN refs <= 0 THEN size END), 0) AS garbage FROM chunk_refs",
    )!;
    this.storedBytes = sums.stored;
    this.garbageBytes = sums.garbage;
    this.absentChunks = sql.one<{ n: number }>("SELECT count(*) AS n FROM chunk_refs r WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.hash = r.hash)")!.n;
  }

  /** Stores `data` (or counts one more reference to identical bytes) and returns its hash. */
  put(data: Uint8Array): string {
    const hash = hashChunk(data);
    const row = this.#sql.one<{ refs: number }>(
      "INSERT INTO chunk_refs (hash, size, refs) VALUES (?, ?, 1) ON CONFLICT (hash) DO UPDATE SET refs = refs + 1 RETURNING refs",
      hash,
      data.byteLength,
    )!;
    if (row.refs === 1) {
      // A chunk freed but not yet collected still has its bytes: taken again, it is no garbage.
      const inserted = this.#sql.one("INSERT INTO chunks (hash, data) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING RETURNING 1 AS inserted", hash, data);
      if (inserted) this.writtenBytes += data.byteLength;
      else this.garbageBytes -= data.byteLength;
      this.storedBytes += data.byteLength;
    } else if (this.absentChunks > 0) {
      // Written here with the content of a chunk known only by name: now its bytes are here.
      this.#fill(hash, data);
    }
    return hash;
  }

  /**
   * Counts a reference to the chunk `hash` of `size` bytes whether or not its bytes are here:
   * a chunk not stored yet is recorded as absent (see the class comment).
   */
  reference(hash: string, size: number): void {
    const row = this.#sql.one<{ refs: number }>(
      "INSERT INTO chunk_refs (hash, size, refs) VALUES (?, ?, 1) ON CONFLICT (hash) DO UPDATE SET refs = refs + 1 RETURNING refs",
      hash,
      size,
    )!;
    if (row.refs !== 1) return;
    this.storedBytes += size;
    if (this.#sql.one("SELECT 1 AS x FROM chunks WHERE hash = ?", hash)) this.garbageBytes -= size;
    else this.absentChunks++;
  }

  /** Supplies the bytes of an absent chunk (nothing when they are here or nothing counts it); answers its hash. */
  fill(data: Uint8Array): string {
    const hash = hashChunk(data);
    if (this.has(hash)) this.#fill(hash, data);
    return hash;
  }

  /** Stores the bytes of a counted chunk if they are absent. */
  #fill(hash: string, data: Uint8Array): void {
    if (this.#sql.one("INSERT INTO chunks (hash, data) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING RETURNING 1 AS inserted", hash, data)) {
      this.absentChunks--;
      this.writtenBytes += data.byteLength;
    }
  }

  /** Bytes of referenced chunks whose bytes are here (what a cache limit counts). */
  presentBytes(): number {
    return this.#sql.one<{ bytes: number }>("SELECT coalesce(sum(r.size), 0) AS bytes FROM chunk_refs r JOIN chunks c ON c.hash = r.hash WHERE r.refs > 0")!
      .bytes;
  }

  /**
   * Drops the bytes of up to `limit` referenced chunks that `keep` does not name, making them
   * absent (fetched again when needed); answers the bytes dropped.
   */
  evict(limit: number, keep: ReadonlySet<string>): number {
    let dropped = 0;
    let evicted = 0;
    let after = "";
    while (evicted < limit) {
      const rows = this.#sql.all<{ hash: string; size: number }>(
        "SELECT r.hash, r.size FROM chunk_refs r JOIN chunks c ON c.hash = r.hash WHERE r.refs > 0 AND r.hash > ? ORDER BY r.hash LIMIT ?",
        after,
        limit,
      );
      if (rows.length === 0) break;
      for (const { hash, size } of rows) {
        after = hash;
        if (keep.has(hash) || evicted >= limit) continue;
        this.#sql.run("DELETE FROM chunks WHERE hash = ?", hash);
        this.#recent.delete(hash);
        this.absentChunks++;
        dropped += size;
        evicted++;
      }
    }
    return dropped;
  }

  /**
   * Counts one more reference to a chunk that is stored (`has`) and answers its size; for a
   * chunk that is not, counts nothing and answers undefined.
   */
  ref(hash: string): number | undefined {
    const row = this.#sql.one<{ refs: number; size: number }>("UPDATE chunk_refs SET refs = refs + 1 WHERE hash = ? RETURNING refs, size", hash);
    if (row?.refs === 1) {
      this.storedBytes += row.size;
      this.garbageBytes -= row.size;
    }
    return row?.size;
  }

  /** Drops one reference; the chunk is freed with its last one. */
  unref(hash: string): void {
    const row = this.#sql.one<{ refs: number; size: number }>("UPDATE chunk_refs SET refs = refs - 1 WHERE hash = ? RETURNING refs, size", hash);
    if (row && row.refs <= 0) {
      this.#recent.delete(hash);
      this.storedBytes -= row.size;
      if (this.#deferFrees) {
        this.garbageBytes += row.size;
        return;
      }
      this.#sql.run("DELETE FROM chunk_refs WHERE hash = ?", hash);
      if (!this.#sql.one("DELETE FROM chunks WHERE hash = ? RETURNING 1 AS deleted", hash)) this.absentChunks--;
    }
  }

  /** Deletes the bytes of up to `limit` chunks nothing references (see `deferFrees`); answers how many. */
  collect(limit: number): number {
    const freed = this.#sql.all<{ hash: string; size: number }>(
      "DELETE FROM chunk_refs WHERE hash IN (SELECT hash FROM chunk_refs WHERE refs <= 0 LIMIT ?) RETURNING hash, size",
      limit,
    );
    for (const { hash, size } of freed) {
      if (!this.#sql.one("DELETE FROM chunks WHERE hash = ? RETURNING 1 AS deleted", hash)) this.absentChunks--;
      this.garbageBytes -= size;
    }
    return freed.length;
  }

  has(hash: string): boolean {
    return this.size(hash) !== undefined;
  }

  /** A stored chunk's size, or undefined. */
  size(hash: string): number | undefined {
    return this.#sql.one<{ size: number }>("SELECT size FROM chunk_refs WHERE hash = ?", hash)?.size;
  }

  get(hash: string): Uint8Array | undefined {
    const cached = this.#recent.get(hash);
    if (cached) return cached;
    const data = this.#sql.one<{ data: Uint8Array }>("SELECT data FROM chunks WHERE hash = ?", hash)?.data;
    if (data) {
      this.#recent.set(hash, data);
      if (this.#recent.size > RECENT_CHUNKS) this.#recent.delete(this.#recent.keys().next().value!);
    }
    return data;
  }

  /** Chunks that something references. */
  count(): number {
    return this.#sql.one<{ n: number }>("SELECT count(*) AS n FROM chunk_refs WHERE refs > 0")!.n;
  }
}
