/**
 * The engine's whole view of a database: a handful of synchronous calls that both hosts can
 * offer. The Durable Object implements it over `ctx.storage.sql` (`sql-durable-object.ts`),
 * wsd and the Node tests over `node:sqlite` (`sql-node.ts`).
 *
 * Blobs always come back as `Uint8Array`, integers as `number`.
 */
export type SqlValue = string | number | null | Uint8Array;
export type SqlRow = Record<string, SqlValue>;

export interface SqlDriver {
  /** All rows of a query. */
  all<T extends SqlRow = SqlRow>(query: string, ...params: SqlValue[]): T[];
  /** The first row of a query, or `undefined`. */
  one<T extends SqlRow = SqlRow>(query: string, ...params: SqlValue[]): T | undefined;
  /** Runs a statement for its effect. */
  run(query: string, ...params: SqlValue[]): void;
  /** Runs a script of several `;`-separated statements (schema set-up). */
  script(sql: string): void;
  /**
   * Runs `fn` in one transaction: committed when it returns, rolled back when it throws.
   * Never called re-entrantly by the engine.
   */
  transaction<T>(fn: () => T): T;
}
