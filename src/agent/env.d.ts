/** Bindings from wrangler.jsonc. */
declare namespace Cloudflare {
  interface Env {
    WORKSPACE: DurableObjectNamespace<import("./workspace-agent.ts").WorkspaceAgent>;
  }
}
interface Env extends Cloudflare.Env {}
