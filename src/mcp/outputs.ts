import { z } from "zod";

/**
 * Each tool's structured output (`outputSchema`), beside the text a model reads. What is large
 * (a file's lines, grep's matching text, a diff's patches, an exec's full streams) lives in the
 * text content only, and the schema's description says so; the structured content holds the facts
 * a program acts on.
 */

const time = z.string().describe("ISO 8601 time");
const fileType = z.enum(["file", "directory", "symlink", "fifo", "socket", "character-device", "block-device"]);
const change = z.enum(["added", "changed", "deleted", "metadata"]);
const source = z.object({ kind: z.string(), name: z.string().optional(), call: z.string().optional(), detail: z.string().optional() });

/** A tool that may change the tree: its result names the revision it reached and its call id, which undo takes. */
const changing = <Shape extends z.ZodRawShape>(shape: Shape, description: string) =>
  z
    .object({
      ...shape,
      revision: z.number().int().optional().describe("The workspace's revision after the call, when it changed the tree (with history)"),
      call: z.string().optional().describe("This call's id: undo {call} reverts it"),
    })
    .describe(description);

/** How a command ended and what it changed: exec's answer, and exec_status's once the run has ended. */
const EXEC_RESULT = z.object({
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  timedOut: z.boolean(),
  stdout: z.string().describe("Head and tail of standard output, at most 4,000 characters; the text content has up to 30,000"),
  stderr: z.string().describe("Head and tail of standard error, as stdout"),
  stdoutChars: z.number().int(),
  stderrChars: z.number().int(),
  durationMs: z.number(),
  id: z.string().describe("This run's id: undo {call: id} reverts what it changed"),
  wsd: z.string(),
  sandbox: z.enum(["wsd", "none"]).describe("none: the workspace's own shell ran it (just-bash, no sandbox attached or none asked for)"),
  changes: z.array(z.object({ path: z.string(), change: z.enum(["created", "modified", "deleted"]) })),
  changesTotal: z.number().int(),
  changesByDirectory: z.array(z.object({ directory: z.string(), created: z.number().int(), modified: z.number().int(), deleted: z.number().int() })),
  conflicts: z.array(z.object({ path: z.string(), keptAs: z.string().optional() })),
});

export const OUTPUTS = {
  read: z
    .object({
      path: z.string(),
      kind: z.enum(["text", "image", "binary", "empty"]),
      size: z.number().int(),
      firstLine: z.number().int().optional(),
      lastLine: z.number().int().optional(),
      nextOffset: z.number().int().optional().describe("Pass as offset to read on; absent at the end"),
    })
    .describe("Where the read landed; the numbered lines (or the image) are in the content, not repeated here"),
  read_many: z
    .object({ files: z.array(z.object({ path: z.string(), ok: z.boolean(), error: z.string().optional() })) })
    .describe("Which files were read; their lines are in the content, each after a ==> path <== line"),
  write: changing({ path: z.string(), size: z.number().int(), created: z.boolean(), replacedSize: z.number().int().optional() }, "The file written"),
  append: changing({ path: z.string(), size: z.number().int().describe("The file's size after") }, "The file appended to"),
  edit: changing(
    { path: z.string(), replacements: z.number().int(), dryRun: z.boolean(), diff: z.string().describe("The unified diff, as in the text") },
    "The edit made (or, on a dry run, that would be made)",
  ),
  ls: z
    .object({
      path: z.string(),
      total: z.number().int(),
      entries: z.array(z.object({ name: z.string(), type: fileType, mode: z.number().int(), size: z.number().int(), mtime: time })),
      nextCursor: z.string().optional(),
    })
    .describe("One page of the directory's entries"),
  tree: z
    .object({ root: z.string(), entries: z.array(z.object({ path: z.string(), type: fileType, depth: z.number().int() })), hidden: z.number().int() })
    .describe("The tree's entries in the order shown; hidden counts those past the cap"),
  find: z
    .object({ matches: z.array(z.object({ path: z.string(), type: fileType, mtime: time.optional() })), nextCursor: z.string().optional() })
    .describe("The matching paths"),
  grep: z
    .object({
      mode: z.enum(["content", "files_with_matches", "count"]),
      matches: z
        .array(z.object({ path: z.string(), line: z.number().int() }))
        .optional()
        .describe("content mode: where each match is; the lines' text is in the text content"),
      files: z.array(z.object({ path: z.string(), count: z.number().int().optional() })).optional(),
      filesSearched: z.number().int(),
      binaryFilesSkipped: z.number().int(),
      nextCursor: z.string().optional(),
    })
    .describe("The search's results"),
  mkdir: changing({ path: z.string(), created: z.boolean() }, "The directory"),
  move: changing({ from: z.string(), to: z.string() }, "What moved where"),
  copy: changing({ from: z.string(), to: z.string() }, "What was copied where"),
  delete: changing({ path: z.string(), type: fileType }, "What was deleted"),
  stat: z
    .object({
      path: z.string(),
      type: fileType,
      size: z.number().int(),
      mode: z.number().int(),
      uid: z.number().int(),
      gid: z.number().int(),
      nlink: z.number().int(),
      mtime: time,
      ctime: time,
      birthtime: time,
      target: z.string().optional().describe("A symlink's target"),
      dangling: z.boolean().optional(),
      rdev: z.number().int().optional().describe("A device's number"),
    })
    .describe("The path's information; for a symlink, of what it points to (and its target)"),
  exec: EXEC_RESULT.partial()
    .extend({
      id: EXEC_RESULT.shape.id,
      wsd: z.string(),
      status: z.literal("running").optional().describe("Set when background started the command: only id and wsd come with it, exec_status gives the rest"),
    })
    .describe("How the command ended and what it changed (every field is there unless background started it)"),
  exec_status: z
    .object({
      runs: z.array(
        z.object({
          id: z.string(),
          command: z.string(),
          wsd: z.string(),
          sandbox: z.enum(["wsd", "none"]).describe("none: the workspace's own shell runs it"),
          status: z.enum(["running", "ended", "failed"]).describe("failed: it could not run to its end (its wsd went away); error says why"),
          startedAt: time,
          durationMs: z.number(),
          killed: z.boolean().optional().describe("A kill was asked for and the command has not ended yet"),
          stdoutTail: z.string().optional().describe("While it runs: the last 4,000 characters of standard output so far"),
          stderrTail: z.string().optional().describe("While it runs: the last 4,000 characters of standard error so far"),
          stdoutChars: z.number().int().optional(),
          stderrChars: z.number().int().optional(),
          exitCode: z.number().int().nullable().optional(),
          signal: z.string().nullable().optional(),
          result: EXEC_RESULT.optional().describe("Once it has ended (when asked by id): exec's result"),
          error: z.string().optional(),
        }),
      ),
    })
    .describe("The run asked for, or (without an id) every run kept, running first"),
  checkpoint: z
    .object({ id: z.number().int(), rev: z.number().int(), label: z.string(), description: z.string().optional(), at: time })
    .describe("The checkpoint made"),
  history: z
    .object({
      entries: z.array(
        z.object({
          rev: z.number().int(),
          at: time.optional(),
          path: z.string(),
          change,
          type: fileType.optional(),
          size: z.number().int().optional(),
          source: source.optional(),
        }),
      ),
      next: z.number().int().optional().describe("Pass as cursor for the next page"),
      since: z.number().int(),
      rev: z.number().int(),
      checkpoints: z.array(z.object({ id: z.number().int(), rev: z.number().int(), at: time, label: z.string(), auto: z.boolean() })),
    })
    .describe("Versions newest first, and (for the whole workspace, on the first page) the checkpoints"),
  diff: z
    .object({
      from: z.number().int(),
      to: z.number().int(),
      truncated: z.boolean(),
      changes: z.array(
        z.object({
          path: z.string(),
          change,
          type: fileType.optional(),
          sizeBefore: z.number().int().optional(),
          sizeAfter: z.number().int().optional(),
          binary: z.boolean().optional(),
        }),
      ),
    })
    .describe("What differs; the unified diffs of text files are in the text content"),
  restore: changing(
    { to: z.number().int(), rev: z.number().int(), dryRun: z.boolean(), changes: z.array(z.object({ path: z.string(), change })) },
    "What the restore changed (or would)",
  ),
  undo: changing(
    {
      calls: z.array(z.string()),
      to: z.number().int(),
      rev: z.number().int(),
      dryRun: z.boolean(),
      changes: z.array(z.object({ path: z.string(), change })),
      overridden: z.array(z.string()),
    },
    "What the undo changed (or would)",
  ),
  fork: z
    .object({ to: z.string(), rev: z.number().int(), paths: z.number().int(), chunksSent: z.number().int(), bytesSent: z.number().int() })
    .describe("The fork made"),
} satisfies Record<string, z.ZodObject>;

export type ToolName = keyof typeof OUTPUTS;
export type Output<Name extends ToolName> = z.infer<(typeof OUTPUTS)[Name]>;

/** `ms` since the epoch as the outputs give times. */
export const isoTime = (ms: number) => new Date(ms).toISOString();
