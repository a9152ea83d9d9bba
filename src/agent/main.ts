import type { CodingAgentEnv } from "./coding/coding-env.ts";
import { handleWorkspaceRequest } from "./routes.ts";

export { CodingAgent } from "./coding/coding-agent.ts";
export { WorkspaceAgent } from "./workspace-agent.ts";

/** This repository's Worker (wrangler.jsonc's `main`): the workspace server with the coding agent. */
export default { fetch: handleWorkspaceRequest } satisfies ExportedHandler<CodingAgentEnv>;
