import { z } from "zod";
import type { HistoryEntry, Source, WorkspaceFs, WorkspaceHistory } from "../workspace-do/engine.ts";
import { FsError } from "../workspace-do/errors.ts";
import { parsePoint } from "../workspace-do/history.ts";
import { defineTool, path, readOnly } from "./define-tool.ts";
import { answer, formatBytes, formatTime, plural } from "./format.ts";
import { isoTime, OUTPUTS } from "./outputs.ts";
import type { ToolDefinition } from "./workspace.ts";

/**
 * The history tools: checkpoint, history, diff, restore and undo, over the engine's
 * `WorkspaceHistory`. Every revision of the last day (and every checkpoint kept) can be looked
 * at and gone back to; a restore or an undo is itself a revision, so it can be undone too.
 */

const point = z
  .union([z.number().int().min(0), z.string().min(1).max(200)])
  .describe('A revision number (as tool results and history show them), "now", "checkpoint:<id>", or a checkpoint\'s label');

const CHANGE_LETTER = { added: "A", changed: "M", deleted: "D", metadata: "m" } as const;

export const HISTORY_TOOLS: readonly ToolDefinition[] = [
  defineTool({
    name: "checkpoint",
    title: "Make a checkpoint",
    description:
      "Names the workspace's current state, so it can be compared (diff) and gone back to (restore) later, for as long as the checkpoint is kept (the last 200 named ones, past the 24 hours every revision is kept). Cheap: a row, no copy. The server also makes checkpoints by itself before exec and before a tool replaces or deletes something.",
    input: z.object({
      label: z.string().min(1).max(200).describe('A short name, such as "before refactor"'),
      description: z.string().max(2000).optional().describe("What the state is, for whoever restores it"),
    }),
    output: OUTPUTS.checkpoint,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    run: ({ fs }, args) => {
      const made = historyOf(fs).checkpoint(args.label, { description: args.description });
      return answer(
        `Checkpoint ${made.id} "${made.label}" at revision ${made.rev}. Compare with diff {"from": "checkpoint:${made.id}"}; go back with restore {"to": "checkpoint:${made.id}"}.`,
        { id: made.id, rev: made.rev, label: made.label, ...(made.description ? { description: made.description } : {}), at: isoTime(made.at) },
      );
    },
  }),
  defineTool({
    name: "history",
    title: "History of files",
    description:
      "Lists what changed, newest first: the revision, time, path, kind of change (A added, M changed, D deleted, m mode or owner), size, and who made it (an MCP tool call, the files route, a wsd's sandbox, a command run by exec, a restore or undo). Covers every writer, shell commands in a mount included. For the whole workspace it also lists the checkpoints.",
    input: z.object({
      path: path.optional().describe("A file, or a directory for everything below it (default the whole workspace)"),
      limit: z.number().int().min(1).max(1000).optional().describe("Most versions per page (default 50)"),
      cursor: z.string().regex(/^\d+$/).optional().describe("The cursor a previous page returned, to continue"),
    }),
    output: OUTPUTS.history,
    annotations: readOnly,
    run: ({ fs }, args) => {
      const history = historyOf(fs);
      const page = history.log({ path: args.path, limit: args.limit, before: args.cursor === undefined ? undefined : Number(args.cursor) });
      const under = args.path === undefined ? "the workspace" : args.path;
      const lines = [`History of ${under}, newest first (every revision from ${history.since} on is kept; now at ${fs.rev}):`];
      lines.push(...(page.entries.length ? page.entries.map(formatEntry) : ["(no changes recorded)"]));
      if (page.next !== undefined) lines.push(`… more: call history with cursor="${page.next}"`);
      const checkpoints = args.path === undefined && args.cursor === undefined ? history.checkpoints({ limit: 20 }) : [];
      if (args.path === undefined && args.cursor === undefined) {
        lines.push("", checkpoints.length ? "Checkpoints (newest first):" : "Checkpoints: none");
        for (const checkpoint of checkpoints) {
          lines.push(
            `  checkpoint:${checkpoint.id}  revision ${checkpoint.rev}  ${formatTime(checkpoint.at)}  ${checkpoint.auto ? "(auto) " : ""}${checkpoint.label}${checkpoint.description ? ` — ${checkpoint.description}` : ""}`,
          );
        }
      }
      return answer(lines.join("\n"), {
        entries: page.entries.map((entry) => ({
          rev: entry.rev,
          ...(entry.at === undefined ? {} : { at: isoTime(entry.at) }),
          path: entry.path,
          change: entry.change,
          ...(entry.state ? { type: entry.state.type, size: entry.state.size } : {}),
          ...(entry.source ? { source: entry.source } : {}),
        })),
        ...(page.next === undefined ? {} : { next: page.next }),
        since: history.since,
        rev: fs.rev,
        checkpoints: checkpoints.map(({ id, rev, at, label, auto }) => ({ id, rev, at: isoTime(at), label, auto })),
      });
    },
  }),
  defineTool({
    name: "diff",
    title: "Compare two points",
    description:
      "Shows what differs between two points of the history (revisions, checkpoints, or now), optionally below a path: each path added (A), changed (M), deleted (D) or with a new mode or owner (m), then a unified diff of each text file (binary files: sizes).",
    input: z.object({
      from: point,
      to: point.optional().describe('The later point (default "now")'),
      path: path.optional().describe("Only this file, or what is below this directory (default everything)"),
    }),
    output: OUTPUTS.diff,
    annotations: readOnly,
    run: ({ fs }, args) => {
      const diff = historyOf(fs).diff({ from: parsePoint(args.from), to: args.to === undefined ? "now" : parsePoint(args.to), path: args.path });
      const structured = {
        from: diff.from,
        to: diff.to,
        truncated: diff.truncated,
        changes: diff.changes.map(({ path, change, before, after, binary }) => ({
          path,
          change,
          ...((after ?? before) ? { type: (after ?? before)!.type } : {}),
          ...(before ? { sizeBefore: before.size } : {}),
          ...(after ? { sizeAfter: after.size } : {}),
          ...(binary ? { binary } : {}),
        })),
      };
      if (diff.changes.length === 0) {
        return answer(`No differences between revision ${diff.from} and revision ${diff.to}${args.path ? ` below ${args.path}` : ""}.`, structured);
      }
      const lines = [
        `Revision ${diff.from} → revision ${diff.to}: ${plural(diff.changes.length, "path")} differ${diff.truncated ? " (cut short: narrow path)" : ""}`,
      ];
      for (const change of diff.changes) {
        const sizes = change.binary ? ` (binary: ${formatBytes(change.before?.size ?? 0)} → ${formatBytes(change.after?.size ?? 0)})` : "";
        const mode =
          change.change === "metadata"
            ? ` (mode ${change.before!.mode.toString(8)} → ${change.after!.mode.toString(8)}, owner ${change.after!.uid}:${change.after!.gid})`
            : "";
        lines.push(
          `${CHANGE_LETTER[change.change]} ${change.path}${change.after?.type === "directory" || change.before?.type === "directory" ? "/" : ""}${sizes}${mode}`,
        );
      }
      const patches = diff.changes.filter((change) => change.patch).map((change) => change.patch!.trimEnd());
      return answer([...lines, ...(patches.length ? ["", ...patches] : [])].join("\n"), structured);
    },
  }),
  defineTool({
    name: "restore",
    title: "Restore files",
    description:
      "Makes a file, a directory with everything below it, or the whole workspace (no path) what it was at a point (a revision or a checkpoint), in one step. The restore is itself a new revision, so restore to the revision before it undoes it; mounts see it live. dry_run lists what would change without changing anything.",
    input: z.object({
      to: point,
      path: path.optional().describe("What to restore (default the whole workspace)"),
      dry_run: z.boolean().optional().describe("Only list what would change (default false)"),
    }),
    output: OUTPUTS.restore,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    run: ({ fs }, args) => {
      const revBefore = fs.rev;
      const result = historyOf(fs).restore({ to: parsePoint(args.to), path: args.path, dryRun: args.dry_run });
      const what = args.path ?? "the workspace";
      const structured = { to: result.to, rev: result.rev, dryRun: result.dryRun, changes: result.changes };
      if (result.changes.length === 0) return answer(`${what} is already as it was at revision ${result.to}; nothing changed.`, structured);
      const head = result.dryRun
        ? `Dry run: restoring ${what} to revision ${result.to} would change ${plural(result.changes.length, "path")}:`
        : `Restored ${what} to revision ${result.to}: ${plural(result.changes.length, "path")} changed, now at revision ${result.rev}. Undo with restore {"to": ${revBefore}${args.path ? `, "path": ${JSON.stringify(args.path)}` : ""}}.`;
      return answer([head, ...result.changes.map((change) => `${CHANGE_LETTER[change.change]} ${change.path}`)].join("\n"), structured);
    },
  }),
  defineTool({
    name: "undo",
    title: "Undo a call or a command",
    description:
      'Reverts exactly what one call changed: an exec (its id, such as "exec-1a2b3c4d", from the exec result) or an MCP tool call (the call id each changing tool result names), or the last N tool calls that changed something. Each path they touched goes back to its state before them; nothing else moves. Refused, with the list, when another writer changed one of those paths since, unless force.',
    input: z.object({
      call: z.string().min(1).max(200).optional().describe("The id of an exec or of a tool call"),
      last: z.number().int().min(1).max(100).optional().describe("Undo the last N tool calls that changed something, instead of call"),
      force: z.boolean().optional().describe("Undo even where another writer changed a path since (default false)"),
      dry_run: z.boolean().optional().describe("Only list what would change (default false)"),
    }),
    output: OUTPUTS.undo,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    run: ({ fs }, args) => {
      if ((args.call === undefined) === (args.last === undefined))
        throw new FsError("EINVAL", "(undo)", "takes either call (an exec or call id) or last (a count)");
      const result = historyOf(fs).undo({
        ...(args.call === undefined ? { lastCalls: args.last } : { calls: [args.call] }),
        force: args.force,
        dryRun: args.dry_run,
      });
      const calls = result.calls.join(", ");
      const structured = { calls: result.calls, to: result.to, rev: result.rev, dryRun: result.dryRun, changes: result.changes, overridden: result.overridden };
      if (result.changes.length === 0) return answer(`${calls} left nothing to undo: every path it touched is as it was before it.`, structured);
      const head = result.dryRun
        ? `Dry run: undoing ${calls} would change ${plural(result.changes.length, "path")}:`
        : `Undid ${calls}: ${plural(result.changes.length, "path")} back as they were, now at revision ${result.rev}.`;
      const forced = result.overridden.length ? [`(forced over later changes to ${result.overridden.join(", ")})`] : [];
      return answer([head, ...result.changes.map((change) => `${CHANGE_LETTER[change.change]} ${change.path}`), ...forced].join("\n"), structured);
    },
  }),
  defineTool({
    name: "fork",
    title: "Fork the workspace",
    description:
      "Copies the workspace as it is now, or as it was at a point of its history, into a new, empty workspace (another name), which then goes its own way: how to try several approaches from one start. Only content the new workspace lacks is sent; it starts with a checkpoint named after the origin.",
    input: z.object({
      to: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/)
        .describe("The new workspace's name: 1 to 63 letters, digits, '.', '_' or '-'"),
      at: point.optional().describe('The point to copy (default "now")'),
    }),
    // It reaches another workspace: a token for this one alone may not do that unless it has full access.
    output: OUTPUTS.fork,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    run: async (workspace, args) => {
      if (!workspace.fork) throw new FsError("EINVAL", "(fork)", "is not offered by this workspace's server");
      const forked = await workspace.fork(args.to, parsePoint(args.at ?? "now"));
      return answer(
        `Forked revision ${forked.rev} into workspace ${args.to}: ${plural(forked.paths, "path")}, ${plural(forked.chunksSent, "chunk")} (${formatBytes(forked.bytesSent)}) sent. Its MCP address ends in /w/${args.to}/mcp.`,
        { to: args.to, ...forked },
      );
    },
  }),
];

function historyOf(fs: WorkspaceFs): WorkspaceHistory {
  if (!fs.history) throw new FsError("EINVAL", "(history)", "is not kept by this workspace's server");
  return fs.history;
}

function formatEntry(entry: HistoryEntry): string {
  const size = entry.state?.type === "file" ? formatBytes(entry.state.size) : (entry.state?.type ?? "");
  return `r${entry.rev}  ${entry.at === undefined ? "" : formatTime(entry.at)}  ${CHANGE_LETTER[entry.change]} ${entry.path}${entry.state?.type === "directory" ? "/" : ""}  ${size}  ${formatSource(entry.source)}`;
}

function formatSource(source: Source | undefined): string {
  if (!source) return "";
  switch (source.kind) {
    case "mcp":
      return `mcp ${source.name ?? "tool"} (${source.call})`;
    case "exec":
      return `exec ${source.call} on ${source.name}: ${source.detail ?? ""}`;
    case "wsd":
      return `sandbox (wsd ${source.name})`;
    case "files":
      return "files route";
    default:
      return [source.kind, source.name, source.detail].filter(Boolean).join(" ");
  }
}
