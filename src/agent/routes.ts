import { getAgentByName } from "agents";
import type { Access } from "../mcp/workspace.ts";
import { ACCESS_HEADER, authorize } from "./auth.ts";
import { errorResponse } from "./http.ts";
import type { WorkspaceServerEnv } from "./server-env.ts";
import { MAX_MCP_BODY_BYTES } from "./workspace-agent.ts";
import { splitWorkspaceUrl, WORKSPACE_NAME } from "./workspace-url.ts";

/**
 * The workspace server's routes, for a Worker's fetch handler: `/health`,
 * `/w/<workspace>/{mcp,files/<path>,ping,wsd}` routed to that workspace's Durable Object, and
 * `/w/<workspace>/agent[/<conversation>]` to the coding agent of that conversation when the
 * Worker binds one, after the names, the token and the body size are checked. Any other path
 * answers a JSON 404, so a Worker with routes of its own calls this for `/w/*` only.
 */
export async function handleWorkspaceRequest(request: Request, env: WorkspaceServerEnv): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/health") return Response.json({ ok: true });
  // The web view's page holds no data (it fetches with the token it is given), so it is served without one.
  if (request.method === "GET" && (url.pathname === "/" || /^\/w\/[^/]+\/$/.test(url.pathname))) return webView(request, env);
  if (!url.pathname.startsWith("/w/")) {
    return errorResponse(404, "ENOENT", `${url.pathname} is not a route of this server; workspaces live at /w/<name>/mcp`);
  }
  const { name, rest } = splitWorkspaceUrl(url.pathname);
  if (!WORKSPACE_NAME.test(name)) {
    return errorResponse(
      400,
      "EINVAL",
      `"${name}" is not a valid workspace name: use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  const authorized = await authorize(request, { secret: env.WORKSPACE_TOKEN, open: env.WORKSPACE_OPEN === "1" }, name);
  if ("refused" in authorized) return authorized.refused;
  const { access } = authorized;
  const length = Number(request.headers.get("Content-Length") ?? 0);
  if (rest === "/mcp" && length > MAX_MCP_BODY_BYTES) {
    return errorResponse(
      413,
      "EFBIG",
      `The request body of ${length} bytes is over the ${MAX_MCP_BODY_BYTES}-byte limit for MCP requests; write large files through /files`,
    );
  }
  const agent = /^\/agent(?:\/([^/]+))?\/?$/.exec(rest);
  if (agent) {
    const conversation = agent[1] ?? "default";
    if (!WORKSPACE_NAME.test(conversation)) {
      return errorResponse(400, "EINVAL", `"${conversation}" is not a valid conversation name: use 1 to 63 letters, digits, '.', '_' or '-'`);
    }
    if (!env.CODING_AGENT) return errorResponse(404, "ENOENT", "This server has no coding agent: its Worker binds no CODING_AGENT");
    if (access !== "full") return errorResponse(403, "EACCES", `The coding agent changes files and runs commands; this token has ${access} access only`);
    return (await getAgentByName(env.CODING_AGENT, `${name}/${conversation}`)).fetch(request);
  }
  const workspace = await getAgentByName(env.WORKSPACE, name);
  return workspace.fetch(withAccess(request, access));
}

/** The request as the workspace's object gets it: with the access the Worker granted, set here whatever the client sent. */
function withAccess(request: Request, access: Access): Request {
  const headers = new Headers(request.headers);
  headers.set(ACCESS_HEADER, access);
  return new Request(request, { headers });
}

/** The web view's page, from the Worker's static assets (dist-web/, built by scripts/build-web.mjs). */
async function webView(request: Request, env: WorkspaceServerEnv): Promise<Response> {
  if (!env.ASSETS) return errorResponse(404, "ENOENT", 'This server has no web view: its Worker serves no assets (see the README, "The web view")');
  return env.ASSETS.fetch(new URL("/web/index.html", request.url));
}
