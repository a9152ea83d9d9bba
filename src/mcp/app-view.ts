import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { defineTool, path, readOnly } from "./define-tool.ts";
import { answer } from "./format.ts";
import { registerTool } from "./server.ts";
import type { Workspace } from "./workspace.ts";

/**
 * The workspace's view as an MCP App (the `@modelcontextprotocol/ext-apps` extension): a
 * `ui://` resource holding the web view built for a host's frame (src/web/mcp-app.ts), and the
 * `show_workspace` tool that opens it. A client that renders MCP Apps shows the tree, a file, its
 * history and diffs, and the live changes inside the conversation; the view reads all of it through
 * the workspace's own tools, by way of the host. Other clients get the tool's text.
 */

export const VIEW_URI = "ui://workspace/view.html";
/** The MIME type and `_meta` keys of MCP Apps (ext-apps 2.0: RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY); a test holds them equal to the library's. */
export const APP_MIME_TYPE = "text/html;profile=mcp-app";
export const LEGACY_RESOURCE_URI_KEY = "ui/resourceUri";

const SHOW_WORKSPACE = defineTool({
  name: "show_workspace",
  title: "Show the workspace",
  description:
    "Opens the workspace's view for the user, where the client can show it (an MCP App): the file tree, a file with highlighting, search, each file's history with diffs and restore, checkpoints, and the changes as they happen. Pass path to open a file in it. Answers the workspace's revision; it changes nothing.",
  input: z.object({ path: path.optional().describe("A file to open in the view (default none)") }),
  output: z
    .object({ workspace: z.string().optional(), path: z.string().optional(), revision: z.number().int() })
    .describe("What the view opens: the workspace, at which revision, and the file"),
  annotations: readOnly,
  meta: { ui: { resourceUri: VIEW_URI }, [LEGACY_RESOURCE_URI_KEY]: VIEW_URI },
  run: ({ fs, name }, args) => {
    if (args.path !== undefined) fs.stat(args.path);
    const what = name === undefined ? "the workspace" : `workspace ${name}`;
    const where = args.path === undefined ? "" : `, opened at ${args.path}`;
    return answer(`The view of ${what} at revision ${fs.rev}${where} (shown by clients that render MCP Apps).`, {
      ...(name !== undefined ? { workspace: name } : {}),
      ...(args.path !== undefined ? { path: args.path } : {}),
      revision: fs.rev,
    });
  },
});

/**
 * Registers the view and the tool that opens it. `html` answers the built view
 * (`dist-web/web/mcp-app.html`, one file with its script and styles inlined, as a host's frame
 * loads nothing else); it is read when a client asks for the resource.
 */
export function registerWorkspaceApp(server: McpServer, workspace: Workspace, html: () => Promise<string>): void {
  registerTool(server, workspace, SHOW_WORKSPACE);
  server.registerResource(
    "workspace view",
    VIEW_URI,
    {
      title: "The workspace's view",
      description: "The file tree, files, search, history and live changes of this workspace, as an MCP App",
      mimeType: APP_MIME_TYPE,
    },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: APP_MIME_TYPE, text: await html() }] }),
  );
}
