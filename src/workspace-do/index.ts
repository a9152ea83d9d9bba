/**
 * `workspace-fs` (also `workspace-fs/engine`): the workspace filesystem engine, synchronous and
 * host-agnostic over a five-call {@link SqlDriver}. In a Durable Object:
 *
 * ```ts
 * import { WorkspaceFs, durableObjectSql } from "workspace-fs";
 * const fs = new WorkspaceFs(durableObjectSql(ctx.storage));
 * fs.writeFile("/src/app.ts", "export {};\n", { parents: true });
 * ```
 *
 * In Node, `workspace-fs/node` adds `openNodeSql` (a database file through `node:sqlite`).
 * Errors are {@link FsError}s: an errno code, the path and one sentence.
 */

export { hashChunk } from "./chunks.ts";
export { WorkspaceFs } from "./engine.ts";
export { ERRNO, type ErrnoCode, FsError, isFsError } from "./errors.ts";
export { comparePaths, NAME_MAX, normalizePath, PATH_MAX } from "./paths.ts";
export {
  createIgnoreFilter,
  type FindOptions,
  type FindResult,
  find,
  type GrepLine,
  type GrepOptions,
  type GrepResult,
  grep,
  type IgnoreFilter,
} from "./search.ts";
export type { SqlDriver, SqlRow, SqlValue } from "./sql.ts";
export { durableObjectSql } from "./sql-durable-object.ts";
export { applyChanges, applyEntry, chunksNamed } from "./sync.ts";
export type * from "./types.ts";
