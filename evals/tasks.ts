/**
 * Eval tasks: one YAML file each in evals/tasks/, validated with zod so that a malformed task
 * fails loudly with its file name. The format is described in evals/README.md.
 */
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import picomatch from "picomatch";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

const TASKS_DIR = join(import.meta.dirname, "tasks");

/** Our server's tools: the vocabulary of reference solutions. */
export const WORKSPACE_TOOLS = [
  "read",
  "read_many",
  "write",
  "append",
  "edit",
  "ls",
  "tree",
  "find",
  "grep",
  "mkdir",
  "move",
  "copy",
  "delete",
  "stat",
] as const;

const WorkspacePath = z.string().regex(/^\/[^\0]+$/, "must be an absolute workspace path such as /src/app.ts");

const RegexSource = z
  .string()
  .min(1)
  .refine((source) => {
    try {
      new RegExp(source, "m");
      return true;
    } catch {
      return false;
    }
  }, "must be a valid JavaScript regular expression");

/** A file's content: plain text, text with CRLF endings or a BOM, base64 bytes, or generated lines. */
const Content = z.union([
  z.string(),
  z.strictObject({ text: z.string(), eol: z.enum(["lf", "crlf"]).optional(), bom: z.boolean().optional() }),
  z.strictObject({ base64: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64") }),
  z.strictObject({
    generate: z.strictObject({
      /** Number of lines; each ends with the line ending. */
      lines: z.int().min(1).max(1_000_000),
      /** Template of every line; `{n}` is the 1-based line number. */
      line: z.string(),
      /** Lines to put in place of the template's, by line number. */
      set: z.record(z.string().regex(/^[1-9]\d*$/, "must be a line number"), z.string()).optional(),
      eol: z.enum(["lf", "crlf"]).optional(),
    }),
  }),
]);
type Content = z.infer<typeof Content>;

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

const DataPath = z.union([z.string().min(1), z.array(z.union([z.string(), z.int().min(0)])).min(1)]);
/** A value at a path in a parsed JSON or YAML document, or its absence. */
const DataAssertion = z.union([z.strictObject({ path: DataPath, equals: z.unknown() }), z.strictObject({ path: DataPath, absent: z.literal(true) })]);
export type DataAssertion = z.infer<typeof DataAssertion>;

const FileCheck = z
  .strictObject({
    file: WorkspacePath,
    equals: Content.optional(),
    contains: oneOrMany(z.string().min(1)).optional(),
    lacks: oneOrMany(z.string().min(1)).optional(),
    matches: RegexSource.optional(),
    json: DataAssertion.optional(),
    yaml: DataAssertion.optional(),
    unchanged: z.literal(true).optional(),
  })
  .refine((check) => Object.keys(check).length > 1, "needs at least one assertion: equals, contains, lacks, matches, json, yaml or unchanged");

const Check = z.union([
  FileCheck,
  z.strictObject({ absent: WorkspacePath }),
  z.strictObject({ dir: WorkspacePath }),
  z.strictObject({ nowhere: z.string().min(1) }),
  z.strictObject({ tree_unchanged: z.literal(true) }),
  z.strictObject({ tool_error: RegexSource }),
  z.strictObject({ command: z.string().min(1), exit_code: z.int().optional() }),
]);
export type Check = z.infer<typeof Check>;
export type FileCheck = z.infer<typeof FileCheck>;

const Expect = z.strictObject({
  /** The call must fail (default: it must succeed). */
  error: z.boolean().optional(),
  /** A regular expression its text must match (our server's wording only; not applied to the peer). */
  matches: RegexSource.optional(),
});

const Step = z.strictObject({
  tool: z.enum(WORKSPACE_TOOLS),
  args: z.record(z.string(), z.unknown()).default({}),
  expect: Expect.optional(),
});

/** A step for the official filesystem server, in its vocabulary; path arguments are workspace paths. */
const PeerStep = z.strictObject({
  tool: z.string().min(1),
  args: z.record(z.string(), z.unknown()).default({}),
  expect: Expect.omit({ matches: true }).optional(),
});

const TaskFile = z.strictObject({
  /** What kind of edit this is, for the table. */
  kind: z.string().min(1),
  instruction: z.string().min(1),
  files: z.record(WorkspacePath, Content),
  checks: z.array(Check).min(1),
  /** A scripted sequence of our tools' calls that solves the task. */
  reference: z.array(Step).min(1),
  /** A solution for the official filesystem server, where the reference cannot be mapped call by call. */
  peer: z.strictObject({ steps: z.array(PeerStep).min(1) }).optional(),
});

export interface Task extends z.infer<typeof TaskFile> {
  /** The file name without .yaml. */
  name: string;
}

/** Loads and validates every task in `dir`, sorted by name; throws naming the file at the first bad one. */
export async function loadTasks(dir = TASKS_DIR): Promise<Task[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith(".yaml")).sort();
  return Promise.all(files.map(async (file) => parseTask(basename(file, ".yaml"), await readFile(join(dir, file), "utf8"), file)));
}

/** Parses one task's YAML; `source` names it in errors. */
export function parseTask(name: string, yaml: string, source = `${name}.yaml`): Task {
  let raw: unknown;
  try {
    raw = parseYaml(yaml);
  } catch (error) {
    throw new Error(`${source}: not valid YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = TaskFile.safeParse(raw);
  if (!parsed.success) throw new Error(`${source}: not a valid eval task:\n${z.prettifyError(parsed.error)}`);
  return { name, ...parsed.data };
}

/**
 * The tasks a `--tasks` filter selects: comma-separated globs over task names (`json-*`), or
 * plain words matched as substrings. No filter selects all.
 */
export function selectTasks(tasks: Task[], filter: string | undefined): Task[] {
  if (!filter) return tasks;
  const terms = filter
    .split(",")
    .map((term) => term.trim())
    .filter(Boolean);
  const matchers = terms.map((term) => (picomatch.scan(term).isGlob ? picomatch(term) : (name: string) => name.includes(term)));
  return tasks.filter((task) => matchers.some((matches) => matches(task.name)));
}

/** The bytes a content spec stands for. */
export function contentBytes(content: Content): Uint8Array {
  if (typeof content === "string") return encoder.encode(content);
  if ("base64" in content) return Uint8Array.from(Buffer.from(content.base64, "base64"));
  if ("text" in content) return encoder.encode((content.bom ? "\uFEFF" : "") + withEndings(content.text, content.eol));
  const { lines, line, set, eol } = content.generate;
  const out: string[] = [];
  for (let n = 1; n <= lines; n++) out.push(set?.[String(n)] ?? line.replaceAll("{n}", String(n)));
  return encoder.encode(out.join(eol === "crlf" ? "\r\n" : "\n") + (eol === "crlf" ? "\r\n" : "\n"));
}

/** The task's initial files as bytes, by workspace path. */
export const initialFiles = (task: Task): Map<string, Uint8Array> =>
  new Map(Object.entries(task.files).map(([path, content]) => [path, contentBytes(content)]));

const encoder = new TextEncoder();
const withEndings = (text: string, eol: "lf" | "crlf" | undefined) => (eol === "crlf" ? text.replace(/\r?\n/g, "\r\n") : text);
