import type { McpServer } from "@modelcontextprotocol/server";

/** Idle servers kept per kind; a burst past this many at once builds servers that are not kept. */
const KEPT_PER_KIND = 4;

/**
 * MCP server instances reused from one request to the next. The stateless handler wants a server
 * that is not serving another request for each request, and building one (two dozen tools with
 * their schemas, the resources, the prompts) costs about a millisecond, which every call paid.
 * A server is reusable once its request has closed it; servers are kept apart by `kind` (the
 * protocol era, whose handlers the SDK installs on the instance, and the caller's access, which
 * the tools are registered with).
 */
export class McpServerPool {
  readonly #servers = new Map<string, McpServer[]>();

  take(kind: string, build: () => McpServer): McpServer {
    const servers = this.#servers.get(kind) ?? [];
    const idle = servers.find((server) => !server.isConnected());
    if (idle) return idle;
    const built = build();
    if (servers.length < KEPT_PER_KIND) this.#servers.set(kind, [...servers, built]);
    return built;
  }
}
