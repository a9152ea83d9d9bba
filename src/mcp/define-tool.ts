import type { ToolAnnotations } from "@modelcontextprotocol/server";
import { z } from "zod";
import type { ToolDefinition } from "./workspace.ts";

/** What every tool table shares: how a tool is defined, and the argument schemas several tools use. */

// Paths have no depth limit in the workspace (a mount can make deep trees); this only bounds the input.
export const MAX_PATH_CHARS = 65_536;
export const path = z.string().min(1).max(MAX_PATH_CHARS).describe("Workspace path, such as /src/app.ts (a relative path starts at the root)");
export const all = z.boolean().optional().describe("Also search .git/ and what .gitignore files ignore (default false, as ripgrep)");
export const exclude = z
  .array(z.string().min(1).max(1024))
  .max(100)
  .optional()
  .describe("Globs to leave out; a glob without / matches a name at any depth (node_modules, *.min.js)");
export const limit = (fallback: number) => z.number().int().min(1).max(10_000).optional().describe(`Most results per page (default ${fallback})`);
export const cursor = z.string().max(8192).optional().describe("The cursor a previous page returned, to continue");

/**
 * One row of the table: written against its own schema (so `run` sees typed arguments), kept
 * as a plain {@link ToolDefinition}. The one widening of the table, and a safe one: every caller
 * (`callTool`, the MCP server) runs a tool only with arguments its `input` has parsed.
 */
export const defineTool = <Input extends z.ZodObject>(definition: ToolDefinition<Input>): ToolDefinition => definition;

export const readOnly: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
