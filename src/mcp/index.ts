/**
 * `workspace-fs/mcp`: the workspace's MCP tools as data, and the two ways to serve them. Give
 * {@link registerWorkspaceTools} any MCP server and any {@link Workspace} (an engine, and an
 * `exec` that runs commands in a sandbox or refuses), or call one tool by name with
 * {@link callTool}.
 *
 * ```ts
 * import { McpServer } from "@modelcontextprotocol/server";
 * import { registerWorkspaceTools } from "workspace-fs/mcp";
 * const server = new McpServer({ name: "files", version: "1.0.0" });
 * registerWorkspaceTools(server, { fs, exec: async () => { throw new FsError("EPERM", "(exec)", "this server runs no commands"); } });
 * ```
 */

export { APP_MIME_TYPE, registerWorkspaceApp, VIEW_URI } from "./app-view.ts";
export { applyEdits, type EditOutcome, type TextEdit } from "./edit.ts";
export { READ_LIMITS } from "./render.ts";
export { callTool, registerTool, registerWorkspaceTools } from "./server.ts";
export { TOOLS } from "./tools.ts";
export type { ExecArgs, ExecOutcome, ExecRun, ExecRunState, ExecRuns, PathChange, ToolCall, ToolDefinition, ToolResult, Workspace } from "./workspace.ts";
