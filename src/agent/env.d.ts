/**
 * The Agents SDK types every agent's environment against the global `Cloudflare.Env`: here it is
 * the workspace server's (server-env.ts), the bindings of this repository's wrangler.jsonc.
 */
declare namespace Cloudflare {
  interface Env {
    WORKSPACE: DurableObjectNamespace<import("./workspace-agent.ts").WorkspaceAgent>;
    CODING_AGENT?: DurableObjectNamespace<import("agents").Agent<import("./server-env.ts").WorkspaceServerEnv>>;
    WORKSPACE_TOKEN?: string;
    WORKSPACE_OPEN?: string;
  }
}
interface Env extends Cloudflare.Env {}
