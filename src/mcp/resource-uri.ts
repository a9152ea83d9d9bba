/**
 * How a workspace file is named as an MCP resource, `workspace:///<path>`: shared by the server
 * (resources.ts) and the MCP App's view (src/web), which reads files through the host by it.
 */

export const RESOURCE_SCHEME = "workspace:";

/** `workspace:///src/app.ts` for `/src/app.ts`, each name percent-encoded. */
export const resourceUri = (path: string) => `${RESOURCE_SCHEME}//${path.split("/").map(encodeURIComponent).join("/")}`;
