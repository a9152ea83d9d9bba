import { statSync } from "node:fs";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { SqlDriver, SqlRow, SqlValue } from "./sql.ts";

/** Options for {@link openNodeSql}. */
export interface NodeSqlOptions {
  /**
   * `synchronous` pragma for a file-backed database. Default `"NORMAL"`: with WAL a crash of the
   * process loses nothing committed; a power loss may lose the last transactions, never corrupt.
   */
  synchronous?: "OFF" | "NORMAL" | "FULL";
  /**
   * WAL pages after which a commit copies the log into the database (SQLite's default 1000,
   * about 4 MiB). Larger, the copy moves out of bursts of writes into {@link NodeSql.checkpoint}
   * calls made when idle: a 64 MiB write then costs one write of its bytes, not two.
   */
  walAutocheckpointPages?: number;
  /**
   * Give freed pages back to the file system: the database is made with `auto_vacuum =
   * INCREMENTAL` (an older file is converted once, with a VACUUM, when opened), and
   * {@link NodeSql.vacuumStep} returns free pages in steps. Default false.
   */
  incrementalVacuum?: boolean;
  /**
   * Take the database for this connection alone (`locking_mode = EXCLUSIVE`, set before WAL so
   * no shared-memory index is made): no other process may open it while it is open, and no
   * statement pays for the locks that sharing needs (measured: a point read 11.8 → 4.8 µs, a
   * small write transaction 68 → 57 µs). The lock is taken at once: opening a database another
   * connection holds fails with SQLITE_BUSY. Default false.
   */
  exclusive?: boolean;
  /**
   * SQLite's page cache for this connection, in bytes (SQLite's default is 2 MB). A transaction
   * that dirties more pages than the cache holds spills them to the WAL before its commit, and
   * writes some again: a cache above the largest transaction a caller makes avoids that (wsd
   * lands writes in runs of up to 4 MiB: measured, a 64 MiB write 200 → 155 ms with 8 MiB).
   */
  pageCacheBytes?: number;
  /**
   * WAL file kept on disk after a checkpoint, in bytes (`journal_size_limit`): the next
   * transactions overwrite it from its start. Growing a file costs far more than writing pages
   * it already has (measured here: 64 MiB into a new file 160 ms, into existing pages 5 ms).
   * Default: SQLite's (the WAL is kept whole).
   */
  walKeepBytes?: number;
}

export interface NodeSql extends SqlDriver {
  /**
   * Copies the WAL into the database now: a passive checkpoint, or with `truncate` (or a WAL
   * file over `walKeepBytes`) one that also cuts the WAL file to nothing (when no reader holds
   * it) so its space goes back.
   */
  checkpoint(options?: { truncate?: boolean }): void;
  /** With `incrementalVacuum`: returns up to `pages` free pages to the file system; answers how many free pages are left. */
  vacuumStep(pages: number): number;
  /** Bytes of free pages in the database file (what a vacuum would give back). */
  freeBytes(): number;
  /** Bytes of the WAL file on disk (0 in memory or before the first write). */
  walBytes(): number;
  close(): void;
}

/**
 * A {@link SqlDriver} over `node:sqlite`, for wsd's replica, the Node tests and the benchmark.
 * `path` is a file (WAL mode) or `":memory:"`.
 */
export function openNodeSql(path: string, options: NodeSqlOptions = {}): NodeSql {
  const db = new DatabaseSync(path);
  if (options.incrementalVacuum) {
    // Takes effect on a new database; an existing one without it is rebuilt once (auto_vacuum 2 = INCREMENTAL).
    db.exec("PRAGMA auto_vacuum = INCREMENTAL");
    if ((db.prepare("PRAGMA auto_vacuum").get() as { auto_vacuum: number }).auto_vacuum !== 2) db.exec("VACUUM");
  }
  if (options.exclusive) db.exec("PRAGMA locking_mode = EXCLUSIVE");
  // A negative cache_size is in KiB.
  if (options.pageCacheBytes !== undefined) db.exec(`PRAGMA cache_size = -${Math.max(1, Math.floor(options.pageCacheBytes / 1024))}`);
  if (path !== ":memory:") {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${options.synchronous ?? "NORMAL"}`);
    if (options.walAutocheckpointPages !== undefined) db.exec(`PRAGMA wal_autocheckpoint = ${Math.max(0, Math.floor(options.walAutocheckpointPages))}`);
    if (options.walKeepBytes !== undefined) db.exec(`PRAGMA journal_size_limit = ${Math.max(0, Math.floor(options.walKeepBytes))}`);
  }
  if (options.exclusive) {
    try {
      db.exec("BEGIN IMMEDIATE; COMMIT");
    } catch (error) {
      db.close();
      throw error;
    }
  }
  const walBytes = () => (path === ":memory:" ? 0 : (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0));
  const statements = new Map<string, StatementSync>();
  const prepare = (query: string) => {
    let statement = statements.get(query);
    if (!statement) {
      statement = db.prepare(query);
      statements.set(query, statement);
    }
    return statement;
  };
  return {
    all: <T extends SqlRow>(query: string, ...params: SqlValue[]) => prepare(query).all(...params) as T[],
    one: <T extends SqlRow>(query: string, ...params: SqlValue[]) => prepare(query).get(...params) as T | undefined,
    run: (query, ...params) => void prepare(query).run(...params),
    script: (sql) => db.exec(sql),
    transaction<T>(fn: () => T): T {
      db.exec("BEGIN");
      try {
        const result = fn();
        db.exec("COMMIT");
        return result;
      } catch (error) {
        db.exec("ROLLBACK");
        throw error;
      }
    },
    checkpoint(checkpointOptions = {}) {
      // SQLite cuts the WAL to `walKeepBytes` only when the next write starts it over: past it, cut it now.
      const truncate = checkpointOptions.truncate || (options.walKeepBytes !== undefined && walBytes() > options.walKeepBytes);
      db.exec(`PRAGMA wal_checkpoint(${truncate ? "TRUNCATE" : "PASSIVE"})`);
    },
    walBytes,
    freeBytes: () =>
      (db.prepare("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count *
      (db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size,
    vacuumStep: (pages) => {
      db.exec(`PRAGMA incremental_vacuum(${Math.max(1, Math.floor(pages))})`);
      return (db.prepare("PRAGMA freelist_count").get() as { freelist_count: number }).freelist_count;
    },
    close: () => db.close(),
  };
}
