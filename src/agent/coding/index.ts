/**
 * `workspace-fs/coding-agent`: {@link CodingAgent}, an Agents SDK Durable Object that does coding
 * tasks in a workspace with the workspace's own tools. Re-export it beside `WorkspaceAgent`,
 * bind it as `CODING_AGENT`, and set the model in the Worker's variables ({@link CodingAgentEnv}).
 */

export { CodingAgent, type TurnRequest, type TurnResult } from "./coding-agent.ts";
export type { CodingAgentEnv } from "./coding-env.ts";
