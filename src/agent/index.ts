/**
 * `workspace-fs/server`: the workspace server for a Worker of your own. Re-export
 * {@link WorkspaceAgent} (one Durable Object per workspace) and route `/w/*` to
 * {@link handleWorkspaceRequest}; bind the class as `WORKSPACE` and set the `WORKSPACE_TOKEN`
 * secret ({@link WorkspaceServerEnv}).
 *
 * ```ts
 * import { handleWorkspaceRequest, WorkspaceAgent } from "workspace-fs/server";
 * export { WorkspaceAgent };
 * export default { fetch: handleWorkspaceRequest };
 * ```
 *
 * The coding agent is a separate entry (`workspace-fs/coding-agent`), so a Worker that only
 * serves files does not bundle the AI SDKs.
 */

export { VERSION } from "../version.ts";
export { handleWorkspaceRequest } from "./routes.ts";
export { scopedToken } from "./scoped-token.ts";
export type { WorkspaceServerEnv } from "./server-env.ts";
export { MAX_MCP_BODY_BYTES, WorkspaceAgent } from "./workspace-agent.ts";
