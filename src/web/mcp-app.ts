import { App } from "@modelcontextprotocol/ext-apps";
import { render } from "preact";
import { mcpAppSource } from "./mcp-app-source.ts";
import { html, WorkspaceView } from "./view.ts";

/**
 * The web view as an MCP App, in a host's frame: the `show_workspace` call that opened it says
 * which file to show (its arguments) and which workspace (its result); everything else comes
 * through the host from the workspace's tools.
 */

const app = new App({ name: "workspace view", version: "1.0.0" });
let workspace = "workspace";
let initialPath: string | undefined;
const source = mcpAppSource(app, () => workspace);
const root = document.getElementById("app")!;
const show = () => render(html`<${WorkspaceView} source=${source} initialPath=${initialPath} />`, root);

app.ontoolinput = ({ arguments: args }) => {
  initialPath = typeof args?.path === "string" ? args.path : undefined;
  show();
};
app.ontoolresult = ({ structuredContent }) => {
  const named = (structuredContent as { workspace?: string } | undefined)?.workspace;
  if (named) workspace = named;
  show();
};
await app.connect();
show();
