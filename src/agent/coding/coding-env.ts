import type { WorkspaceServerEnv } from "../server-env.ts";

/**
 * The coding agent's environment: the workspace server's, and the model it runs
 * (see model.ts: `AGENT_PROVIDER`, `AGENT_MODEL`, `AGENT_BASE_URL`, the `AGENT_API_KEY` secret,
 * or an `AI` binding for Workers AI).
 */
export interface CodingAgentEnv extends WorkspaceServerEnv {
  AI?: Ai;
  AGENT_PROVIDER?: string;
  AGENT_MODEL?: string;
  AGENT_BASE_URL?: string;
  AGENT_API_KEY?: string;
}
