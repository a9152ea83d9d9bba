/**
 * The "raw floor": plain node:sqlite with the engine's table shapes and pragmas, doing the
 * row work of each operation and nothing else (no hashing, no change log, no revision or
 * quota bookkeeping, no path normalization or directory cache). Chunk keys are 64-character
 * text like the engine's sha-256 hex, but sequential instead of hashed.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { SCHEMA_SQL } from "../src/workspace-do/schema.ts";

export const ROOT_INO = 1;
export const FILE = 1;
export const DIRECTORY = 2;

export type Row = Record<string, unknown>;

export class RawDb {
  readonly db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #nextKey = 0;
  /** Statements looked up with {@link q}, plus one per transaction (as the engine's driver counts). */
  statements = 0;

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec("PRAGMA synchronous = NORMAL");
    // The engine's own tables; the floor leaves the change log and counters unused.
    this.db.exec(SCHEMA_SQL);
    const now = Date.now();
    this.db
      .prepare("INSERT INTO inodes (ino, type, mode, nlink, atime, mtime, ctime, btime) VALUES (?, ?, 493, 2, ?, ?, ?, ?)")
      .run(ROOT_INO, DIRECTORY, now, now, now, now);
  }

  q(query: string): StatementSync {
    this.statements++;
    let statement = this.#statements.get(query);
    if (!statement) {
      statement = this.db.prepare(query);
      this.#statements.set(query, statement);
    }
    return statement;
  }

  tx<T>(fn: () => T): T {
    this.statements++;
    this.db.exec("BEGIN");
    try {
      const result = fn();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  close(): void {
    this.db.close();
  }

  /** A fresh 64-character chunk key (the engine's are sha-256 hex of the same length). */
  key(): string {
    return String(++this.#nextKey).padStart(64, "0");
  }

  insertInode(type: number, mode: number, size: number, now: number): number {
    const row = this.q("INSERT INTO inodes (type, mode, size, nlink, atime, mtime, ctime, btime) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING ino").get(
      type,
      mode,
      size,
      type === DIRECTORY ? 2 : 1,
      now,
      now,
      now,
      now,
    ) as { ino: number };
    return row.ino;
  }

  insertDirent(parent: number, name: string, ino: number): void {
    this.q("INSERT INTO dirents (parent, name, ino) VALUES (?, ?, ?)").run(parent, name, ino);
  }

  touchDir(ino: number, now: number, linkDelta: number): void {
    this.q("UPDATE inodes SET mtime = ?, ctime = ?, nlink = nlink + ? WHERE ino = ?").run(now, now, linkDelta, ino);
  }

  insertChunk(key: string, data: Uint8Array): void {
    this.q("INSERT INTO chunk_refs (hash, size, refs) VALUES (?, ?, 1)").run(key, data.byteLength);
    this.q("INSERT INTO chunks (hash, data) VALUES (?, ?)").run(key, data);
  }

  insertFileChunk(ino: number, idx: number, key: string): void {
    this.q("INSERT INTO file_chunks (ino, idx, hash) VALUES (?, ?, ?)").run(ino, idx, key);
  }

  /** One dirent lookup, joined to the inode for its type (what path resolution needs per name). */
  lookup(parent: number, name: string): { ino: number; type: number } | undefined {
    return this.q("SELECT d.ino, i.type FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? AND d.name = ?").get(parent, name) as
      | { ino: number; type: number }
      | undefined;
  }

  /** A directory in one transaction: inode + dirent + parent nlink/mtime. */
  mkdir(parent: number, name: string): number {
    return this.tx(() => {
      const now = Date.now();
      const ino = this.insertInode(DIRECTORY, 0o755, 0, now);
      this.insertDirent(parent, name, ino);
      this.touchDir(parent, now, 1);
      return ino;
    });
  }

  /** A file in one transaction: inode + dirent + one chunk + file_chunks row per chunk + parent mtime. */
  createFile(parent: number, name: string, bytes: Uint8Array, chunkSize: number): number {
    return this.tx(() => {
      const now = Date.now();
      const ino = this.insertInode(FILE, 0o644, bytes.byteLength, now);
      this.insertDirent(parent, name, ino);
      for (let offset = 0, idx = 0; offset < bytes.byteLength; offset += chunkSize, idx++) {
        const key = this.key();
        this.insertChunk(key, bytes.subarray(offset, offset + chunkSize));
        this.insertFileChunk(ino, idx, key);
      }
      this.touchDir(parent, now, 0);
      return ino;
    });
  }

  /** Path resolution by one {@link lookup} per name, then the inode row. */
  stat(path: string): Row {
    let ino = ROOT_INO;
    for (const name of path.slice(1).split("/")) ino = this.lookup(ino, name)!.ino;
    return this.q("SELECT * FROM inodes WHERE ino = ?").get(ino) as Row;
  }

  /** A file's last name in one transaction: lookup, dirent, parent mtime, its chunks, its inode. */
  unlink(parent: number, name: string): void {
    this.tx(() => {
      const { ino } = this.lookup(parent, name)!;
      this.q("DELETE FROM dirents WHERE parent = ? AND name = ?").run(parent, name);
      this.touchDir(parent, Date.now(), 0);
      for (const { hash } of this.q("DELETE FROM file_chunks WHERE ino = ? RETURNING hash").all(ino) as { hash: string }[]) {
        this.q("DELETE FROM chunk_refs WHERE hash = ?").run(hash);
        this.q("DELETE FROM chunks WHERE hash = ?").run(hash);
      }
      this.q("DELETE FROM inodes WHERE ino = ?").run(ino);
    });
  }

  /** The whole file into one buffer. */
  readFile(ino: number, chunkSize: number): Uint8Array {
    const { size } = this.q("SELECT size FROM inodes WHERE ino = ?").get(ino) as { size: number };
    const out = new Uint8Array(size);
    for (const { idx, data } of this.contentRows(ino)) out.set(data, idx * chunkSize);
    return out;
  }

  /**
   * `patch` written at `offset` inside chunk `idx`, in one transaction: read that chunk, patch
   * it, store it as a new chunk row, repoint file_chunks, delete the old row, bump mtime.
   */
  rewrite(ino: number, idx: number, offset: number, patch: Uint8Array): void {
    this.tx(() => {
      const { hash, data } = this.q("SELECT f.hash, c.data FROM file_chunks f JOIN chunks c ON c.hash = f.hash WHERE f.ino = ? AND f.idx = ?").get(
        ino,
        idx,
      ) as { hash: string; data: Uint8Array };
      data.set(patch, offset);
      const key = this.key();
      this.insertChunk(key, data);
      this.q("UPDATE file_chunks SET hash = ? WHERE ino = ? AND idx = ?").run(key, ino, idx);
      this.q("DELETE FROM chunk_refs WHERE hash = ?").run(hash);
      this.q("DELETE FROM chunks WHERE hash = ?").run(hash);
      const now = Date.now();
      this.q("UPDATE inodes SET mtime = ?, ctime = ? WHERE ino = ?").run(now, now, ino);
    });
  }

  children(parent: number): { name: string; ino: number; type: number }[] {
    return this.q("SELECT d.name, d.ino, i.type FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ?").all(parent) as {
      name: string;
      ino: number;
      type: number;
    }[];
  }

  /** A file's chunks in order. */
  contentRows(ino: number): { idx: number; data: Uint8Array }[] {
    return this.q("SELECT f.idx, c.data FROM file_chunks f JOIN chunks c ON c.hash = f.hash WHERE f.ino = ? ORDER BY f.idx").all(ino) as {
      idx: number;
      data: Uint8Array;
    }[];
  }
}
