/** Bindings from wrangler.jsonc, and the optional `WORKSPACE_TOKEN` secret (see auth.ts). */
declare namespace Cloudflare {
  interface Env {
    WORKSPACE: DurableObjectNamespace<import("./workspace-agent.ts").WorkspaceAgent>;
    WORKSPACE_TOKEN?: string;
  }
}
interface Env extends Cloudflare.Env {}
