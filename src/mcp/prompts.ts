import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import type { WorkspaceFs } from "../workspace-do/engine.ts";
import { callTool } from "./server.ts";
import type { Workspace } from "./workspace.ts";

/**
 * Prompts clients show as commands, each built from the workspace's own data: the changes since
 * a point, for review; the recent activity, to pick what to keep or undo.
 */

const MAX_PROMPT_CHARS = 100_000;

export function registerWorkspacePrompts(server: McpServer, workspace: Workspace): void {
  const { fs } = workspace;
  server.registerPrompt(
    "review_changes",
    {
      title: "Review the changes since a checkpoint",
      description: "The diff of the workspace since a checkpoint (by default the newest one you named), to review before keeping it.",
      argsSchema: z.object({
        since: z.string().max(200).optional().describe('A checkpoint\'s label, "checkpoint:<id>", or a revision (default: the newest named checkpoint)'),
      }),
    },
    async ({ since }) => {
      const from = since ?? defaultPoint(fs);
      const diff = await textOf(workspace, "diff", { from });
      return user(
        `Review these changes to the workspace since ${from}. Point out bugs, risky edits and anything left unfinished, file by file; then say whether to keep them, or which to undo (the history and undo tools can revert one call or command).\n\n${diff}`,
      );
    },
  );
  server.registerPrompt(
    "recent_activity",
    {
      title: "What changed recently",
      description: "The workspace's latest changes with who made them (tool calls, shell commands in a sandbox, the files route) and its checkpoints.",
      argsSchema: z.object({ limit: z.string().regex(/^\d+$/).optional().describe("How many changes to show (default 50)") }),
    },
    async ({ limit }) => {
      const history = await textOf(workspace, "history", { limit: Math.min(Number(limit ?? 50), 1000) });
      return user(
        `Summarize what happened in this workspace recently: which calls and commands changed what, and whether anything looks wrong and should be undone.\n\n${history}`,
      );
    },
  );
}

/** The newest named checkpoint, else the oldest revision history keeps. */
function defaultPoint(fs: WorkspaceFs): string {
  const named = fs.history?.checkpoints({ auto: false, limit: 1 })[0];
  return named ? `checkpoint:${named.id}` : String(fs.history?.since ?? 0);
}

async function textOf(workspace: Workspace, tool: string, args: Record<string, unknown>): Promise<string> {
  const result = await callTool({ ...workspace, access: "read" }, tool, args);
  const text = result.content.map((part) => (part.type === "text" ? part.text : "")).join("\n");
  return text.length > MAX_PROMPT_CHARS ? `${text.slice(0, MAX_PROMPT_CHARS)}\n… (cut at ${MAX_PROMPT_CHARS} characters)` : text;
}

const user = (text: string) => ({ messages: [{ role: "user" as const, content: { type: "text" as const, text } }] });
