/**
 * Judging a final tree against a task's checks. Each check gives an outcome with a label a reader
 * recognizes and, when it fails, why in one line. File checks are pure functions of snapshots; a
 * command check runs through whatever runner the target has (exec through a wsd, or a local shell),
 * or is skipped with the reason when it has none.
 */
import { isDeepStrictEqual } from "node:util";
import { parse as parseYaml } from "yaml";
import { comparePaths } from "../src/workspace-do/paths.ts";
import { clip } from "./calls.ts";
import { type Check, contentBytes, type DataAssertion, type FileCheck } from "./tasks.ts";
import { diffSnapshots, type Snapshot, sameBytes } from "./tree.ts";

export interface CheckOutcome {
  check: string;
  status: "pass" | "fail" | "skipped";
  why?: string;
}

export interface CommandResult {
  exitCode: number | null;
  signal?: string | null;
  stdout: string;
  stderr: string;
  /** A program the runner does not have (the workspace's own shell has no `node`): the check is skipped. */
  unavailable?: string;
}

/** Why a command check is skipped when only a sandbox has what it runs. */
export const NEEDS_SANDBOX = "needs a sandbox (--mount)";

/** How a target runs command checks, or why it cannot. */
export type CommandRunner = { run(command: string): Promise<CommandResult> } | { skip: string };

export interface CheckContext {
  /** The final tree. */
  tree: Snapshot;
  /** The tree as seeded. */
  initial: Snapshot;
  /** The text of every tool call that failed during the run. */
  toolErrors: string[];
  commands: CommandRunner;
}

/** Every check's outcome, in the task's order (commands run one at a time, after the file checks). */
export async function evaluateChecks(checks: Check[], context: CheckContext): Promise<CheckOutcome[]> {
  const outcomes: CheckOutcome[] = [];
  for (const check of checks) {
    if ("command" in check) outcomes.push(await commandOutcome(check.command, check.exit_code ?? 0, context.commands));
    else if ("file" in check) outcomes.push(...fileOutcomes(check, context));
    else outcomes.push(treeOutcome(check, context));
  }
  return outcomes;
}

const pass = (check: string): CheckOutcome => ({ check, status: "pass" });
const fail = (check: string, why: string): CheckOutcome => ({ check, status: "fail", why });
const judge = (check: string, why: string | undefined): CheckOutcome => (why === undefined ? pass(check) : fail(check, why));

function fileOutcomes(check: FileCheck, { tree, initial }: CheckContext): CheckOutcome[] {
  const entry = tree.get(check.file);
  const bytes = entry?.type === "file" ? entry.bytes : undefined;
  const missing = !entry ? "the file does not exist" : entry.type !== "file" ? `it is a ${entry.type}, not a file` : undefined;
  const text = bytes && new TextDecoder().decode(bytes);
  const outcomes: CheckOutcome[] = [];
  const add = (label: string, why: () => string | undefined) => outcomes.push(judge(`${check.file} ${label}`, missing ?? why()));

  if (check.equals !== undefined) {
    const expected = contentBytes(check.equals);
    add("has the expected content", () => (sameBytes(expected, bytes!) ? undefined : describeDifference(expected, bytes!)));
  }
  if (check.unchanged) {
    const before = initial.get(check.file);
    add("is unchanged", () => {
      if (before?.type !== "file") return "it was not a file at the start";
      return sameBytes(before.bytes, bytes!) ? undefined : describeDifference(before.bytes, bytes!);
    });
  }
  for (const needle of [check.contains ?? []].flat()) {
    add(`contains ${quote(needle)}`, () => (text!.includes(needle) ? undefined : "not found"));
  }
  for (const needle of [check.lacks ?? []].flat()) {
    add(`lacks ${quote(needle)}`, () => (text!.includes(needle) ? `found at line ${lineOf(text!, text!.indexOf(needle))}` : undefined));
  }
  if (check.matches !== undefined) {
    const pattern = new RegExp(check.matches, "m");
    add(`matches /${check.matches}/`, () => (pattern.test(text!) ? undefined : "no match"));
  }
  if (check.json) add(`has ${describeData(check.json)} (JSON)`, () => dataFailure(check.json!, () => JSON.parse(text!)));
  if (check.yaml) add(`has ${describeData(check.yaml)} (YAML)`, () => dataFailure(check.yaml!, () => parseYaml(text!)));
  return outcomes;
}

type TreeCheck = Exclude<Check, FileCheck | { command: string }>;

function treeOutcome(check: TreeCheck, { tree, initial, toolErrors }: CheckContext): CheckOutcome {
  if ("absent" in check) {
    const entry = tree.get(check.absent);
    return judge(`${check.absent} is absent`, entry && `it still exists (a ${entry.type})`);
  }
  if ("dir" in check) {
    const entry = tree.get(check.dir);
    return judge(`${check.dir} is a directory`, !entry ? "it does not exist" : entry.type !== "directory" ? `it is a ${entry.type}` : undefined);
  }
  if ("nowhere" in check) {
    const found = [...tree].filter(([, entry]) => entry.type === "file" && new TextDecoder().decode(entry.bytes).includes(check.nowhere));
    const where = found.map(([path]) => path).sort(comparePaths);
    return judge(
      `no file contains ${quote(check.nowhere)}`,
      where.length ? `found in ${where.slice(0, 5).join(", ")}${where.length > 5 ? ", …" : ""}` : undefined,
    );
  }
  if ("tree_unchanged" in check) {
    const differences = diffSnapshots(initial, tree, ["the initial tree", "the final tree"]);
    return judge("the tree is unchanged", differences.length ? differences.join("; ") : undefined);
  }
  const pattern = new RegExp(check.tool_error, "m");
  const why =
    toolErrors.length === 0
      ? "no tool call failed"
      : toolErrors.some((error) => pattern.test(error))
        ? undefined
        : `no tool error matched; got: ${clip(toolErrors[0]!)}`;
  return judge(`a tool call failed with /${check.tool_error}/`, why);
}

async function commandOutcome(command: string, exitCode: number, commands: CommandRunner): Promise<CheckOutcome> {
  const label = `\`${command}\` exits ${exitCode}`;
  if ("skip" in commands) return { check: label, status: "skipped", why: commands.skip };
  try {
    const result = await commands.run(command);
    if (result.unavailable) return { check: label, status: "skipped", why: `${NEEDS_SANDBOX} (\`${result.unavailable}\` is not in the workspace's own shell)` };
    if (result.exitCode === exitCode) return pass(label);
    const ended = result.exitCode === null ? `killed by ${result.signal ?? "a signal"}` : `exit ${result.exitCode}`;
    const output = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-3).join(" / ");
    return fail(label, `${ended}${output ? `: ${clip(output)}` : ""}`);
  } catch (error) {
    return fail(label, `could not run it: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function describeData(assertion: DataAssertion): string {
  const path = dataPath(assertion.path).join(".");
  return "absent" in assertion ? `no ${path}` : `${path} = ${JSON.stringify(assertion.equals)}`;
}

function dataFailure(assertion: DataAssertion, parse: () => unknown): string | undefined {
  let value: unknown;
  try {
    value = parse();
  } catch (error) {
    return `it does not parse: ${error instanceof Error ? error.message : String(error)}`;
  }
  const segments = dataPath(assertion.path);
  for (const [i, segment] of segments.entries()) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, segment)) {
      return "absent" in assertion ? undefined : `${segments.slice(0, i + 1).join(".")} is missing`;
    }
    value = (value as Record<string, unknown>)[segment];
  }
  if ("absent" in assertion) return `it is there: ${clip(JSON.stringify(value))}`;
  return isDeepStrictEqual(value, assertion.equals) ? undefined : `it is ${clip(JSON.stringify(value))}`;
}

/** `a.b.0` or `["a", "b.c", 0]`, as property keys. */
const dataPath = (path: DataAssertion["path"]): string[] => (typeof path === "string" ? path.split(".") : path.map(String));

/**
 * Where two contents first differ, in words: a lost BOM or changed line endings before the
 * first differing line; byte offsets for binary content.
 */
export function describeDifference(expected: Uint8Array, actual: Uint8Array): string {
  const [want, got] = [decodeStrict(expected), decodeStrict(actual)];
  if (want === undefined || got === undefined) {
    let at = 0;
    while (at < expected.length && at < actual.length && expected[at] === actual[at]) at++;
    return `bytes differ from offset ${at} (${expected.length} B expected, ${actual.length} B found)`;
  }
  const bom = (text: string) => text.startsWith("\uFEFF");
  if (bom(want) !== bom(got)) return bom(want) ? "the BOM was lost" : "a BOM was added";
  const crlf = (text: string) => text.includes("\r\n");
  if (crlf(want) !== crlf(got)) return crlf(want) ? "CRLF line endings became LF" : "LF line endings became CRLF";
  const [wantLines, gotLines] = [want.split("\n"), got.split("\n")];
  for (let i = 0; i < Math.max(wantLines.length, gotLines.length); i++) {
    if (wantLines[i] === gotLines[i]) continue;
    if (wantLines[i] === undefined) return `extra line ${i + 1}: ${quote(gotLines[i]!)}`;
    if (gotLines[i] === undefined) return `line ${i + 1} is missing: expected ${quote(wantLines[i]!)}`;
    return `line ${i + 1}: expected ${quote(wantLines[i]!)}, found ${quote(gotLines[i]!)}`;
  }
  return "the contents differ";
}

function decodeStrict(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

const lineOf = (text: string, index: number) => text.slice(0, index).split("\n").length;
const quote = (text: string) => JSON.stringify(clip(text, 60));
