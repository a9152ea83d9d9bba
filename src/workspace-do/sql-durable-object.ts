import type { SqlDriver, SqlRow, SqlValue } from "./sql.ts";

/**
 * What the adapter uses of a Durable Object's `ctx.storage` (workers-types' `DurableObjectStorage`
 * has it), stated here so the engine type-checks on both hosts.
 */
export interface DurableObjectSqlStorage {
  sql: { exec(query: string, ...bindings: unknown[]): { toArray(): Record<string, unknown>[] } };
  transactionSync<T>(closure: () => T): T;
}

/**
 * A {@link SqlDriver} over a SQLite-backed Durable Object's storage. Transactions use
 * `transactionSync`, the only way to group statements atomically inside a Durable Object.
 */
export function durableObjectSql(storage: DurableObjectSqlStorage): SqlDriver {
  const sql = storage.sql;
  const rows = <T extends SqlRow>(query: string, params: SqlValue[]): T[] =>
    sql
      .exec(query, ...params)
      .toArray()
      .map((row) => withBlobsAsBytes(row) as T);
  return {
    all: <T extends SqlRow>(query: string, ...params: SqlValue[]) => rows<T>(query, params),
    one<T extends SqlRow>(query: string, ...params: SqlValue[]): T | undefined {
      return rows<T>(query, params)[0];
    },
    run: (query, ...params) => void sql.exec(query, ...params).toArray(),
    script: (script) => void sql.exec(script).toArray(),
    transaction: (fn) => storage.transactionSync(fn),
  };
}

/** workerd returns blobs as `ArrayBuffer`; the engine expects `Uint8Array`, as node:sqlite gives. */
function withBlobsAsBytes(row: Record<string, unknown>): SqlRow {
  for (const key in row) {
    const value = row[key];
    if (value instanceof ArrayBuffer) row[key] = new Uint8Array(value);
  }
  return row as SqlRow;
}
