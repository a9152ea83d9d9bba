import type { Agent } from "agents";
import type { WorkspaceAgent } from "./workspace-agent.ts";

/**
 * What the workspace server needs from its Worker's environment: the `WorkspaceAgent` binding,
 * and the settings of who may in. A Worker that embeds the server declares these in its own
 * wrangler.jsonc (see README, "Use the package").
 */
export interface WorkspaceServerEnv {
  /** The `WorkspaceAgent` Durable Object class: one object per workspace. */
  WORKSPACE: DurableObjectNamespace<WorkspaceAgent>;
  /** The `CodingAgent` class, when the Worker serves the coding agent at `/w/<name>/agent`. */
  CODING_AGENT?: DurableObjectNamespace<Agent<WorkspaceServerEnv>>;
  /** The secret that opens every workspace and signs scoped tokens; without it the server is closed. */
  WORKSPACE_TOKEN?: string;
  /** "1" serves every workspace without a token while there is no secret: local development only (`npm start` sets it). */
  WORKSPACE_OPEN?: string;
  /** The web view's static assets (`dist-web/`), when the Worker serves them. */
  ASSETS?: Fetcher;
  /** Hours every revision stays restorable (default 24). */
  HISTORY_KEEP_HOURS?: string;
  /** Checkpoints kept past that window, named and automatic ones each (default 200). */
  HISTORY_KEEP_CHECKPOINTS?: string;
  /** "off" drops the content index and has grep read every file (default on). */
  CONTENT_INDEX?: string;
}
