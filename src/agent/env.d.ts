/** Bindings from wrangler.jsonc, the optional `WORKSPACE_TOKEN` secret (see auth.ts), and the coding agent's model settings (see coding/model.ts). */
declare namespace Cloudflare {
  interface Env {
    WORKSPACE: DurableObjectNamespace<import("./workspace-agent.ts").WorkspaceAgent>;
    CODING_AGENT: DurableObjectNamespace<import("./coding/coding-agent.ts").CodingAgent>;
    WORKSPACE_TOKEN?: string;
    /** "1" serves every workspace without a token when WORKSPACE_TOKEN is unset: local development only (`npm start` sets it for `wrangler dev`). */
    WORKSPACE_OPEN?: string;
    AI?: Ai;
    AGENT_PROVIDER?: string;
    AGENT_MODEL?: string;
    AGENT_BASE_URL?: string;
    AGENT_API_KEY?: string;
  }
}
interface Env extends Cloudflare.Env {}
