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
 * `storedBytes` (the sum of all chunk sizes) is kept in memory for quota checks; the engine
 * sums it up on open and sets it back after a rollback.
 *
 * The last few chunks read stay in memory: a chunk is immutable (its name is its content), and
 * FUSE reads a 256 KiB chunk in two or more pieces, each of which would read the blob again.
 */
export class ChunkStore {
  storedBytes: number;
  readonly #sql: SqlDriver;
  readonly #recent = new Map<string, Uint8Array>();

  constructor(sql: SqlDriver, storedBytes: number) {
    this.#sql = sql;
    this.storedBytes = storedBytes;
  }

  /** Stores `data` (or counts one more reference to identical bytes) and returns its hash. */
  put(data: Uint8Array): string {
    const hash = hashChunk(data);
    const row = this.#sql.one<{ refs: number }>(
      "INSERT INTO chunk_refs (hash, size, refs) VALUES (?, ?, 1) ON CONFLICT (hash) DO UPDATE SET refs = refs + 1 RETURNING refs",
      hash, data.byteLength,
    )!;
    if (row.refs === 1) {
      this.#sql.run("INSERT INTO chunks (hash, data) VALUES (?, ?)", hash, data);
      this.storedBytes += data.byteLength;
    }
    return hash;
  }

  /** Counts one more reference to a chunk that exists. */
  ref(hash: string): void {
    this.#sql.run("UPDATE chunk_refs SET refs = refs + 1 WHERE hash = ?", hash);
  }

  /** Drops one reference; the chunk is freed with its last one. */
  unref(hash: string): void {
    const row = this.#sql.one<{ refs: number; size: number }>(
      "UPDATE chunk_refs SET refs = refs - 1 WHERE hash = ? RETURNING refs, size", hash,
    );
    if (row && row.refs <= 0) {
      this.#recent.delete(hash);
      this.#sql.run("DELETE FROM chunk_refs WHERE hash = ?", hash);
      this.#sql.run("DELETE FROM chunks WHERE hash = ?", hash);
      this.storedBytes -= row.size;
    }
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

  count(): number {
    return this.#sql.one<{ n: number }>("SELECT count(*) AS n FROM chunk_refs")!.n;
  }
}
