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
}

export interface NodeSql extends SqlDriver {
  /** Copies the WAL into the database now (a passive checkpoint). */
  checkpoint(): void;
  close(): void;
}

/**
 * A {@link SqlDriver} over `node:sqlite`, for wsd's replica, the Node tests and the benchmark.
 * `path` is a file (WAL mode) or `":memory:"`.
 */
export function openNodeSql(path: string, options: NodeSqlOptions = {}): NodeSql {
  const db = new DatabaseSync(path);
  if (path !== ":memory:") {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${options.synchronous ?? "NORMAL"}`);
    if (options.walAutocheckpointPages !== undefined) db.exec(`PRAGMA wal_autocheckpoint = ${Math.max(0, Math.floor(options.walAutocheckpointPages))}`);
  }
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
    checkpoint: () => void db.exec("PRAGMA wal_checkpoint(PASSIVE)"),
    close: () => db.close(),
  };
}
