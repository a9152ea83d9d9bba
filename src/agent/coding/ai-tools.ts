import { type ToolSet, tool } from "ai";
import { TOOLS } from "../../mcp/tools.ts";
import type { ToolResult } from "../../mcp/workspace.ts";

/**
 * The workspace's tools (the MCP tool definitions, exec included) as AI SDK tools, each run by
 * `run`: the coding agent passes the workspace object's `callTool` over Durable Object RPC.
 */
export function workspaceTools(run: (name: string, args: unknown) => Promise<ToolResult>): ToolSet {
  return Object.fromEntries(
    TOOLS.map((definition) => [
      definition.name,
      tool({
        description: definition.description,
        inputSchema: definition.input,
        execute: async (args: unknown) => modelText(await run(definition.name, args)),
      }),
    ]),
  );
}

/** A tool result as the text a model reads; an error says so up front. */
function modelText(result: ToolResult): string {
  const parts = result.content.map((part) => (part.type === "text" ? part.text : `[${part.mimeType} image, ${Math.round((part.data.length * 3) / 4)} bytes]`));
  return `${result.isError ? "Error: " : ""}${parts.join("\n")}`;
}
