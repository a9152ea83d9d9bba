/**
 * `workspace-fs/node`: the engine ({@link WorkspaceFs} and everything `workspace-fs` exports)
 * with {@link openNodeSql}, a database file through `node:sqlite` (Node ≥ 22.12).
 *
 * ```ts
 * import { WorkspaceFs, openNodeSql } from "workspace-fs/node";
 * const fs = new WorkspaceFs(openNodeSql("workspace.db"));
 * ```
 */

export * from "./index.ts";
export { type NodeSql, type NodeSqlOptions, openNodeSql } from "./sql-node.ts";
