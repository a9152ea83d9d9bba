import { z } from "zod";
import type { WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError } from "../workspace-do/errors.ts";
import { looksBinary } from "../workspace-do/lines.ts";
import { baseName, compareNames, normalizePath } from "../workspace-do/paths.ts";
import { createSkipFilter, find, grep } from "../workspace-do/search.ts";
import { all, cursor, defineTool, exclude, limit, path, readOnly } from "./define-tool.ts";
import { applyEdits } from "./edit.ts";
import { EXEC_TOOLS } from "./exec-tools.ts";
import { answer, errorResult, formatBytes, formatDevice, formatMode, formatTime, plural } from "./format.ts";
import { HISTORY_TOOLS } from "./history-tools.ts";
import { isoTime, OUTPUTS } from "./outputs.ts";
import { continuation, formatGrepLines, listOrNone, READ_LIMITS, readFile } from "./render.ts";
import type { ToolDefinition, ToolResult } from "./workspace.ts";

/**
 * The workspace's MCP tools, as data: name, schema, annotations and a handler over the engine.
 * Arguments follow what models know from Claude Code and the official filesystem server.
 */

const MAX_CONTENT_CHARS = 10 * 1024 * 1024;
const MAX_TREE_ENTRIES = 2000;

/** Every tool of a workspace, in the order clients list them. */
export const TOOLS: readonly ToolDefinition[] = [
  defineTool({
    name: "read",
    title: "Read file",
    description: `Reads a file, numbering lines like cat -n. Use offset (1-based line) and limit to page through long files; at most ${READ_LIMITS.lines} lines or ${READ_LIMITS.bytes / 1024} KiB come back per call, with a note on how to continue. PNG, JPEG, GIF and WebP files come back as images; other binary files are described, not dumped.`,
    input: z.object({
      path,
      offset: z.number().int().min(1).optional().describe("First line to read, 1-based (default 1)"),
      limit: z.number().int().min(1).max(READ_LIMITS.lines).optional().describe(`Most lines to read (default ${READ_LIMITS.lines})`),
    }),
    output: OUTPUTS.read,
    annotations: readOnly,
    run: ({ fs }, args) => readFile(fs, args.path, args.offset ?? 1, args.limit ?? READ_LIMITS.lines),
  }),
  defineTool({
    name: "read_many",
    title: "Read several files",
    description: "Reads several files in one call, each as read would. A file that fails is reported in place; the others are still read.",
    input: z.object({ paths: z.array(path).min(1).max(50).describe("Paths of the files to read") }),
    output: OUTPUTS.read_many,
    annotations: readOnly,
    run: ({ fs }, { paths }) => {
      const content: ToolResult["content"] = [];
      const files: { path: string; ok: boolean; error?: string }[] = [];
      for (const file of paths) {
        const result = guarded(fs, "read", () => readFile(fs, file, 1, READ_LIMITS.lines));
        files.push(
          result.isError
            ? { path: file, ok: false, error: result.content.map((part) => (part.type === "text" ? part.text : "")).join("") }
            : { path: file, ok: true },
        );
        content.push({ type: "text", text: `==> ${file} <==` }, ...result.content);
      }
      const failures = files.filter((file) => !file.ok).length;
      return failures === paths.length ? { content, isError: true } : { content, structuredContent: { files } };
    },
  }),
  defineTool({
    name: "write",
    title: "Write file",
    description:
      "Creates a file, or replaces its whole content, creating missing parent directories. To change part of a file, use edit; to add at the end, append.",
    input: z.object({ path, content: z.string().max(MAX_CONTENT_CHARS).describe("The file's complete new content") }),
    output: OUTPUTS.write,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    checkpointBefore: (fs, args) => (fs.exists(args.path) ? `before write ${normalizePath(args.path)}` : undefined),
    run: ({ fs }, args) => {
      const target = normalizePath(args.path);
      const before = fs.exists(target) ? fs.stat(target).size : undefined;
      fs.writeFile(target, args.content, { parents: true });
      const size = fs.stat(target).size;
      return answer(`Wrote ${plural(size, "byte")} to ${target}${before === undefined ? " (new file)" : ` (replaced ${plural(before, "byte")})`}`, {
        path: target,
        size,
        created: before === undefined,
        ...(before === undefined ? {} : { replacedSize: before }),
      });
    },
  }),
  defineTool({
    name: "append",
    title: "Append to file",
    description:
      "Adds text to the end of a file, creating it (and missing parent directories) when it does not exist. Include a leading newline if the file does not end with one.",
    input: z.object({ path, content: z.string().min(1).max(MAX_CONTENT_CHARS).describe("Text to add at the end") }),
    output: OUTPUTS.append,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    run: ({ fs }, args) => {
      const target = normalizePath(args.path);
      fs.appendFile(target, args.content, { parents: true });
      const size = fs.stat(target).size;
      return answer(`Appended to ${target}; it now has ${plural(size, "byte")}`, { path: target, size });
    },
  }),
  defineTool({
    name: "edit",
    title: "Edit file",
    description:
      "Replaces exact text in a file. Each edit's old_text must match exactly once (include surrounding lines to make it unique) unless replace_all is set; all edits are matched against the original content and applied together, or none is. If old_text matches nowhere exactly but exactly one place matches when indentation and spacing are ignored, that place is used. Line endings, a BOM and the file's mode are kept. Returns a unified diff; dry_run shows it without writing.",
    input: z.object({
      path,
      edits: z
        .array(
          z.object({
            old_text: z.string().min(1).max(MAX_CONTENT_CHARS).describe("Exact text to find, with enough context to be unique"),
            new_text: z.string().max(MAX_CONTENT_CHARS).describe("Text to put in its place"),
            replace_all: z.boolean().optional().describe("Replace every occurrence (default false)"),
          }),
        )
        .min(1)
        .max(100)
        .describe("The replacements, each matched against the original content; all are applied together, or none"),
      dry_run: z.boolean().optional().describe("Show the diff without changing the file (default false)"),
    }),
    output: OUTPUTS.edit,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    checkpointBefore: (_fs, args) => (args.dry_run ? undefined : `before edit ${normalizePath(args.path)}`),
    run: ({ fs }, args) => {
      const target = fs.realpath(args.path);
      const original = readTextForEdit(fs, target);
      const { content, diff, replacements } = applyEdits(target, original, args.edits);
      if (!args.dry_run) fs.writeFile(target, content);
      const verb = args.dry_run ? "Dry run: would make" : "Made";
      return answer(`${verb} ${plural(replacements, "replacement")} in ${target}\n\n${diff}`, {
        path: target,
        replacements,
        dryRun: args.dry_run === true,
        diff,
      });
    },
  }),
  defineTool({
    name: "ls",
    title: "List directory",
    description:
      "Lists one directory: type and mode, size, modification time and name of each entry (everything, including dotfiles and ignored files), sorted by name.",
    input: z.object({ path: path.optional().describe("Directory to list (default /)"), limit: limit(500), cursor }),
    output: OUTPUTS.ls,
    annotations: readOnly,
    run: ({ fs }, args) => {
      const dir = fs.realpath(args.path ?? "/");
      const entries = fs.readdir(dir, { withStats: true });
      const after = args.cursor;
      const start = after === undefined ? 0 : entries.filter((entry) => compareNames(entry.name, after) <= 0).length;
      const page = entries.slice(start, start + (args.limit ?? 500));
      const lines = page.map(({ name, type, stats }) => {
        const shown = type === "directory" ? `${name}/` : type === "symlink" ? `${name} -> ${fs.readlink(`${dir}/${name}`)}` : name;
        return `${formatMode(type, stats.mode)} ${formatBytes(stats.size).padStart(9)}  ${formatTime(stats.mtimeMs)}  ${shown}`;
      });
      const left = entries.length - start - page.length;
      const more = left > 0 ? `\n… ${left} more; call ls with cursor=${JSON.stringify(page[page.length - 1]!.name)}` : "";
      return answer(`${dir} (${entries.length} ${entries.length === 1 ? "entry" : "entries"})\n${lines.join("\n")}${more}`, {
        path: dir,
        total: entries.length,
        entries: page.map(({ name, type, stats }) => ({ name, type, mode: stats.mode, size: stats.size, mtime: isoTime(stats.mtimeMs) })),
        ...(left > 0 ? { nextCursor: page[page.length - 1]!.name } : {}),
      });
    },
  }),
  defineTool({
    name: "tree",
    title: "Directory tree",
    description: `Shows the tree below a directory, indented, to a depth (default 3). Skips .git/ and what .gitignore files ignore unless all is set; at most ${MAX_TREE_ENTRIES} entries.`,
    input: z.object({
      path: path.optional().describe("Directory to show (default /)"),
      depth: z.number().int().min(1).max(20).optional().describe("Levels to descend (default 3)"),
      exclude,
      all,
    }),
    output: OUTPUTS.tree,
    annotations: readOnly,
    run: ({ fs }, args) => {
      const root = fs.realpath(args.path ?? "/");
      const skip = createSkipFilter(fs, root, { exclude: args.exclude, gitignore: !args.all });
      const lines = [root === "/" ? "/" : `${root}/`];
      const shown: { path: string; type: string; depth: number }[] = [];
      let hidden = 0;
      for (const entry of fs.walk(root, { maxDepth: args.depth ?? 3, enter: (entry) => !skip(entry) })) {
        if (entry.type !== "directory" && skip(entry)) continue;
        if (lines.length > MAX_TREE_ENTRIES) {
          hidden++;
          continue;
        }
        const name = baseName(entry.path) + (entry.type === "directory" ? "/" : entry.type === "symlink" ? ` -> ${fs.readlink(entry.path)}` : "");
        lines.push(`${"  ".repeat(entry.depth)}${name}`);
        shown.push(entry);
      }
      if (hidden) lines.push(`… ${hidden} more entries; narrow path or depth`);
      return answer(lines.join("\n"), { root, entries: shown, hidden });
    },
  }),
  defineTool({
    name: "find",
    title: "Find files by name",
    description:
      "Finds files and directories whose path below `path` matches a glob: * (within a name), ** (any depth), ?, {a,b}, [ab]. Example: **/*.ts. Skips .git/ and .gitignore'd files unless all is set. Sorted by path, or newest first with sort=newest.",
    input: z.object({
      pattern: z.string().min(1).max(1024).describe("Glob relative to path, such as **/*.test.ts"),
      path: path.optional().describe("Directory to search (default /)"),
      exclude,
      sort: z.enum(["path", "newest"]).optional().describe("path (default) or newest first by modification time"),
      limit: limit(500),
      cursor,
      all,
    }),
    output: OUTPUTS.find,
    annotations: readOnly,
    run: ({ fs }, args) => {
      const options = { pattern: args.pattern, path: args.path ?? "/", exclude: args.exclude, gitignore: !args.all };
      if (args.sort === "newest") {
        const everything = find(fs, { ...options, limit: 10_000 });
        const dated = everything.matches.map((match) => ({ ...match, mtime: fs.lstat(match.path).mtimeMs })).sort((a, b) => b.mtime - a.mtime);
        const shown = dated.slice(0, args.limit ?? 500);
        const note = everything.nextCursor ? "\n(over 10,000 matches: only the first 10,000 by path were sorted; narrow the pattern)" : "";
        return answer(listOrNone(shown.map((match) => `${match.path}${match.type === "directory" ? "/" : ""}  ${formatTime(match.mtime)}`)) + note, {
          matches: shown.map((match) => ({ path: match.path, type: match.type, mtime: isoTime(match.mtime) })),
        });
      }
      const page = find(fs, { ...options, limit: args.limit ?? 500, cursor: args.cursor });
      const lines = page.matches.map((match) => `${match.path}${match.type === "directory" ? "/" : ""}`);
      return answer(listOrNone(lines) + continuation("find", page.nextCursor), {
        matches: page.matches.map((match) => ({ path: match.path, type: match.type })),
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      });
    },
  }),
  defineTool({
    name: "grep",
    title: "Search file contents",
    description:
      "Searches file contents for a regular expression (JavaScript syntax) or, with literal, plain text. output_mode: content (matching lines as path:line:text, the default), files_with_matches (paths only) or count (matches per file). include narrows by file glob (*.ts, src/**/*.rs); context adds lines around each match. Skips binary files, .git/ and .gitignore'd files unless all is set.",
    input: z.object({
      pattern: z.string().min(1).max(4096).describe("Regular expression, or text with literal"),
      path: path.optional().describe("File or directory to search (default /)"),
      include: z.string().min(1).max(1024).optional().describe("Only files matching this glob"),
      ignore_case: z.boolean().optional().describe("Match letters in either case (default false)"),
      literal: z.boolean().optional().describe("Treat pattern as plain text"),
      context: z.number().int().min(0).max(20).optional().describe("Lines of context before and after each match"),
      output_mode: z
        .enum(["content", "files_with_matches", "count"])
        .optional()
        .describe("content: matching lines as path:line:text (default); files_with_matches: paths only; count: matches per file"),
      exclude,
      limit: limit(200),
      cursor,
      all,
    }),
    output: OUTPUTS.grep,
    annotations: readOnly,
    run: ({ fs }, args) => {
      const mode = args.output_mode === "files_with_matches" ? "files" : args.output_mode === "count" ? "count" : "lines";
      const result = grep(fs, {
        pattern: args.pattern,
        literal: args.literal,
        ignoreCase: args.ignore_case,
        path: args.path ?? "/",
        include: args.include,
        exclude: args.exclude,
        context: args.context,
        mode,
        limit: args.limit ?? 200,
        cursor: args.cursor,
        gitignore: !args.all,
      });
      const lines =
        mode === "lines"
          ? formatGrepLines(result.lines!, (args.context ?? 0) > 0)
          : result.files!.map((file) => (mode === "count" ? `${file.path}:${file.count}` : file.path));
      const skipped = result.binaryFilesSkipped ? ` (${plural(result.binaryFilesSkipped, "binary file")} skipped)` : "";
      const summary = `\n[${plural(result.filesSearched, "file")} searched${skipped}]`;
      return answer(listOrNone(lines, "No matches.") + continuation("grep", result.nextCursor) + summary, {
        mode: args.output_mode ?? "content",
        ...(mode === "lines"
          ? { matches: result.lines!.map((match) => ({ path: match.path, line: match.line })) }
          : { files: result.files!.map((file) => (mode === "count" ? { path: file.path, count: file.count } : { path: file.path })) }),
        filesSearched: result.filesSearched,
        binaryFilesSkipped: result.binaryFilesSkipped,
        ...(result.nextCursor ? { nextCursor: result.nextCursor } : {}),
      });
    },
  }),
  defineTool({
    name: "mkdir",
    title: "Create directory",
    description: "Creates a directory and any missing parents. Succeeds if it already exists.",
    input: z.object({ path }),
    output: OUTPUTS.mkdir,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    run: ({ fs }, args) => {
      const created = fs.mkdir(args.path, { recursive: true });
      const at = normalizePath(args.path);
      return answer(created ? `Created ${at}` : `${at} already exists`, { path: at, created: created !== undefined });
    },
  }),
  defineTool({
    name: "move",
    title: "Move or rename",
    description:
      "Moves or renames a file or directory (a directory moves with everything in it, in one step), creating missing parent directories of `to`. Fails if `to` exists, unless overwrite is set (then a file, or an empty directory, is replaced).",
    input: z.object({ from: path, to: path, overwrite: z.boolean().optional().describe("Replace an existing `to` (default false)") }),
    output: OUTPUTS.move,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    checkpointBefore: (fs, args) => (args.overwrite && fs.exists(args.to) ? `before move over ${normalizePath(args.to)}` : undefined),
    run: ({ fs }, args) => {
      refuseExisting(fs, args.to, args.overwrite, args.from);
      fs.rename(args.from, args.to, { parents: true });
      const [from, to] = [normalizePath(args.from), normalizePath(args.to)];
      return answer(`Moved ${from} to ${to}`, { from, to });
    },
  }),
  defineTool({
    name: "copy",
    title: "Copy",
    description:
      "Copies a file, or a directory with everything in it, to a new path (content is shared, so copies are cheap), creating missing parent directories of `to`. Fails if `to` exists, unless overwrite is set for a file.",
    input: z.object({ from: path, to: path, overwrite: z.boolean().optional().describe("Replace an existing file at `to` (default false)") }),
    output: OUTPUTS.copy,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    checkpointBefore: (fs, args) => (args.overwrite && fs.exists(args.to) ? `before copy over ${normalizePath(args.to)}` : undefined),
    run: ({ fs }, args) => {
      refuseExisting(fs, args.to, args.overwrite);
      fs.copy(args.from, args.to, { recursive: true, parents: true });
      const [from, to] = [normalizePath(args.from), normalizePath(args.to)];
      return answer(`Copied ${from} to ${to}`, { from, to });
    },
  }),
  defineTool({
    name: "delete",
    title: "Delete",
    description: "Deletes a file, symlink or empty directory; a directory with contents needs recursive. A symlink is removed, never what it points to.",
    input: z.object({ path, recursive: z.boolean().optional().describe("Delete a directory with everything in it (default false)") }),
    output: OUTPUTS.delete,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    checkpointBefore: (_fs, args) => `before delete ${normalizePath(args.path)}`,
    run: ({ fs }, args) => {
      const stats = fs.lstat(args.path);
      fs.rm(args.path, { recursive: args.recursive });
      const at = normalizePath(args.path);
      return answer(`Deleted ${stats.type === "directory" ? "directory" : stats.type} ${at}`, { path: at, type: stats.type });
    },
  }),
  defineTool({
    name: "stat",
    title: "File information",
    description: "Shows a path's type, size, mode, owner, link count and times; for a symlink, its target too.",
    input: z.object({ path }),
    output: OUTPUTS.stat,
    annotations: readOnly,
    run: ({ fs }, args) => {
      const link = fs.lstat(args.path);
      const target = link.type === "symlink" ? fs.readlink(args.path) : undefined;
      const stats = target !== undefined && fs.exists(args.path) ? fs.stat(args.path) : link;
      const lines = [
        `path: ${normalizePath(args.path)}`,
        ...(target !== undefined ? [`symlink to: ${target}${fs.exists(args.path) ? ` (${fs.realpath(args.path)})` : " (dangling)"}`] : []),
        `type: ${stats.type}`,
        ...(stats.type === "character-device" || stats.type === "block-device" ? [`device: ${formatDevice(stats.rdev)}`] : []),
        `size: ${stats.size} (${formatBytes(stats.size)})`,
        `mode: ${formatMode(stats.type, stats.mode)} (0${stats.mode.toString(8)})`,
        `owner: uid ${stats.uid}, gid ${stats.gid}`,
        `links: ${stats.nlink}`,
        `modified: ${formatTime(stats.mtimeMs)}`,
        `changed: ${formatTime(stats.ctimeMs)}`,
        `created: ${formatTime(stats.birthtimeMs)}`,
      ];
      return answer(lines.join("\n"), {
        path: normalizePath(args.path),
        type: stats.type,
        size: stats.size,
        mode: stats.mode,
        uid: stats.uid,
        gid: stats.gid,
        nlink: stats.nlink,
        mtime: isoTime(stats.mtimeMs),
        ctime: isoTime(stats.ctimeMs),
        birthtime: isoTime(stats.birthtimeMs),
        ...(target !== undefined ? { target, dangling: !fs.exists(args.path) } : {}),
        ...(stats.type === "character-device" || stats.type === "block-device" ? { rdev: stats.rdev } : {}),
      });
    },
  }),
  ...EXEC_TOOLS,
  ...HISTORY_TOOLS,
];

function guarded(fs: WorkspaceFs, name: string, run: () => ToolResult): ToolResult {
  try {
    return run();
  } catch (error) {
    return errorResult(fs, error, name);
  }
}

function readTextForEdit(fs: WorkspaceFs, file: string): string {
  const bytes = fs.readFile(file);
  if (looksBinary(bytes)) throw new FsError("EINVAL", file, "is a binary file; edit changes text files only");
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new FsError("EINVAL", file, "is not valid UTF-8 text, so edit cannot change it safely");
  }
}

function refuseExisting(fs: WorkspaceFs, to: string, overwrite: boolean | undefined, from?: string): void {
  if (overwrite || !fs.exists(to)) return;
  if (from !== undefined && fs.exists(from) && fs.lstat(from).ino === fs.lstat(to).ino) return;
  throw new FsError("EEXIST", normalizePath(to), "already exists; pass overwrite to replace it, or choose another path");
}
