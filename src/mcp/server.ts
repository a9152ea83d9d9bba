import type { McpServer, ServerContext } from "@modelcontextprotocol/server";
import { z } from "zod";
import { errorResult, failure } from "./format.ts";
import { TOOLS } from "./tools.ts";
import type { Access, ToolCall, ToolDefinition, ToolResult, Workspace } from "./workspace.ts";

/**
 * The tool table served: registered on an MCP server (with progress and cancellation from the
 * client's request), or called by name with unchecked arguments (Durable Object RPC, the
 * coding agent). Either way arguments are validated first and errors come back as tool results.
 */

/** Runs one tool by name with unchecked arguments: validated, and every error answered as a tool result. */
export async function callTool(workspace: Workspace, name: string, args: unknown, call: ToolCall = {}): Promise<ToolResult> {
  const definition = TOOLS.find((candidate) => candidate.name === name);
  if (!definition) return failure(`EINVAL: ${name} is not a tool of this workspace; the tools are ${TOOLS.map((each) => each.name).join(", ")}`);
  const parsed = definition.input.safeParse(args ?? {});
  if (!parsed.success) return failure(`EINVAL: the arguments of ${name} are invalid: ${z.prettifyError(parsed.error)}`);
  return runTool(workspace, definition, parsed.data, call);
}

/**
 * The access a tool needs, from what its annotations declare: reading only, or reaching outside
 * the workspace (exec runs commands in a sandbox), or else changing it.
 */
export const accessNeeded = (definition: ToolDefinition): Access =>
  definition.annotations.openWorldHint ? "full" : definition.annotations.readOnlyHint ? "read" : "write";

const RANK: Record<Access, number> = { read: 0, write: 1, full: 2 };

async function runTool(workspace: Workspace, definition: ToolDefinition, args: unknown, call: ToolCall): Promise<ToolResult> {
  const access = workspace.access ?? "full";
  const needed = accessNeeded(definition);
  if (RANK[access] < RANK[needed]) {
    const may = access === "read" ? "only read" : "change files but not run commands";
    return failure(`EACCES: ${definition.name} is refused: this token may ${may}; ask for a token with ${needed} access`);
  }
  const { fs } = workspace;
  const id = `call-${crypto.randomUUID().slice(0, 8)}`;
  const revBefore = fs.rev;
  try {
    const result = await fs.withSource({ kind: "mcp", name: definition.name, call: id }, () => {
      const label = fs.history && definition.checkpointBefore?.(fs, args as never);
      if (label) fs.history!.checkpoint(label, { auto: true });
      return definition.run(workspace, args as never, call);
    });
    // exec's changes are its run's (the result names that id), not this call's.
    return fs.history && fs.rev !== revBefore && needed === "write" ? withRevision(result, fs.rev, id) : result;
  } catch (error) {
    return errorResult(fs, error, definition.name);
  }
}

/** A result of a call that changed the tree names the revision it reached and the call, which `undo` takes (a part of its own, after the answer). */
function withRevision(result: ToolResult, rev: number, call: string): ToolResult {
  const note = `[revision ${rev} · call ${call} · undo reverts it: undo {"call": "${call}"}]`;
  const structuredContent = result.structuredContent && { ...(result.structuredContent as Record<string, unknown>), revision: rev, call };
  return { ...result, content: [...result.content, { type: "text", text: note }], ...(structuredContent ? { structuredContent } : {}) };
}

/**
 * Registers every tool on `server`, each answering errors as tool results, never throwing.
 * `notices` (sync conflicts, say) are added to the next result, once.
 */
export function registerWorkspaceTools(server: McpServer, workspace: Workspace, notices: () => string[] = () => []): void {
  for (const definition of TOOLS) registerTool(server, workspace, definition, notices);
}

/** Registers one tool as {@link registerWorkspaceTools} does (the MCP App's tool comes this way too). */
export function registerTool(server: McpServer, workspace: Workspace, definition: ToolDefinition, notices: () => string[] = () => []): void {
  server.registerTool(
    definition.name,
    {
      title: definition.title,
      description: definition.description,
      inputSchema: definition.input,
      outputSchema: definition.output,
      annotations: definition.annotations,
      ...(definition.meta ? { _meta: definition.meta } : {}),
    },
    async (args: unknown, context: ServerContext) => withNotices(await runTool(workspace, definition, args, toolCall(context)), notices()) as never,
  );
}

/** Progress goes to the client only when it gave a progress token, as MCP asks. */
function toolCall(context: ServerContext): ToolCall {
  const progressToken = context.mcpReq._meta?.progressToken;
  if (progressToken === undefined) return { signal: context.mcpReq.signal };
  let progress = 0;
  return {
    signal: context.mcpReq.signal,
    progress: (message) => {
      // A progress note is advisory: one the client cannot take must not fail the call.
      context.mcpReq.notify({ method: "notifications/progress", params: { progressToken, progress: ++progress, message } }).catch(() => {});
    },
  };
}

function withNotices(result: ToolResult, notices: string[]): ToolResult {
  if (notices.length === 0) return result;
  return { ...result, content: [...result.content, { type: "text", text: notices.map((notice) => `Notice: ${notice}`).join("\n") }] };
}
