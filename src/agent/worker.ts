export { WorkspaceAgent } from "./workspace-agent.ts";

/** The Worker entry: routes requests to the workspace objects. */
export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health") return Response.json({ ok: true });
    return Response.json({ error: "ENOENT", message: `${url.pathname} is not a route of this server` }, { status: 404 });
  },
} satisfies ExportedHandler<Env>;
