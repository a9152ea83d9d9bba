/**
 * The eval checker and task loader on their own, without a server: what each check passes and
 * fails and why, how two views of a tree are compared, and that a bad task file is refused by name.
 */
import { describe, expect, it } from "vitest";
import { type CheckContext, describeDifference, evaluateChecks } from "../../evals/checks.ts";
import { type Check, contentBytes, initialFiles, loadTasks, parseTask, selectTasks } from "../../evals/tasks.ts";
import { diffSnapshots, snapshotOfFiles } from "../../evals/tree.ts";
import { execRunner } from "../../evals/workspace.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const tree = (files: Record<string, string>) => snapshotOfFiles(new Map(Object.entries(files).map(([path, text]) => [path, bytes(text)])));

function context(files: Record<string, string>, initial = files, toolErrors: string[] = []): CheckContext {
  return { tree: tree(files), initial: tree(initial), toolErrors, commands: { skip: "needs a wsd (--mount)" } };
}

const judge = (checks: Check[], ctx: CheckContext) => evaluateChecks(checks, ctx);

describe("eval checks", () => {
  it("passes and fails file checks with the reason", async () => {
    const ctx = context({ "/a.js": "const x = 1;\nconst y = 2;\n", "/p.json": '{ "scripts": { "test": "vitest" } }' });
    const outcomes = await judge(
      [
        { file: "/a.js", contains: "x = 1", lacks: "y = 2", matches: "^const y" },
        { file: "/p.json", json: { path: "scripts.test", equals: "node --test" } },
        { file: "/p.json", json: { path: "scripts.lint", absent: true } },
        { file: "/missing.js", contains: "x" },
        { absent: "/a.js" },
        { dir: "/" + "nowhere" },
        { nowhere: "const" },
      ],
      ctx,
    );
    expect(outcomes.map(({ check, status, why }) => [check, status, why])).toEqual([
      ['/a.js contains "x = 1"', "pass", undefined],
      ['/a.js lacks "y = 2"', "fail", "found at line 2"],
      ["/a.js matches /^const y/", "pass", undefined],
      ['/p.json has scripts.test = "node --test" (JSON)', "fail", 'it is "vitest"'],
      ["/p.json has no scripts.lint (JSON)", "pass", undefined],
      ['/missing.js contains "x"', "fail", "the file does not exist"],
      ["/a.js is absent", "fail", "it still exists (a file)"],
      ["/nowhere is a directory", "fail", "it does not exist"],
      ['no file contains "const"', "fail", "found in /a.js"],
    ]);
  });

  it("says how contents differ: a lost BOM, changed line endings, the first differing line, bytes", () => {
    expect(describeDifference(bytes("\uFEFFa\n"), bytes("a\n"))).toBe("the BOM was lost");
    expect(describeDifference(bytes("a\r\nb\r\n"), bytes("a\nb\n"))).toBe("CRLF line endings became LF");
    expect(describeDifference(bytes("a\nb\nc\n"), bytes("a\nB\nc\n"))).toBe('line 2: expected "b", found "B"');
    expect(describeDifference(Uint8Array.from([0x89, 0xff, 1]), Uint8Array.from([0x89, 0xfe]))).toBe("bytes differ from offset 1 (3 B expected, 2 B found)");
  });

  it("judges the tree as a whole and the tool errors of the run", async () => {
    const initial = { "/src/a.txt": "a" };
    const outcomes = await judge([{ tree_unchanged: true }, { tool_error: "ENOENT" }], context({ ...initial, "/src/new.txt": "n" }, initial, ["EISDIR: /src"]));
    expect(outcomes).toEqual([
      { check: "the tree is unchanged", status: "fail", why: "/src/new.txt: only in the final tree" },
      { check: "a tool call failed with /ENOENT/", status: "fail", why: "no tool error matched; got: EISDIR: /src" },
    ]);
  });

  it("skips a command check when the target cannot run commands, and runs it when it can", async () => {
    const check: Check = { command: "node --test" };
    expect(await judge([check], context({}))).toEqual([{ check: "`node --test` exits 0", status: "skipped", why: "needs a wsd (--mount)" }]);
    const failing: CheckContext = { ...context({}), commands: { run: async () => ({ exitCode: 1, stdout: "", stderr: "1 test failed" }) } };
    expect(await judge([check], failing)).toEqual([{ check: "`node --test` exits 0", status: "fail", why: "exit 1: 1 test failed" }]);
  });

  it("runs command checks through the exec tool's contract: exit code and output in structuredContent", async () => {
    const calls: unknown[] = [];
    const exec = (result: unknown) =>
      execRunner(
        {
          callTool: async (params) => {
            calls.push(params);
            return result;
          },
        },
        "wsd",
      );
    const exited = (exitCode: number | null, stderr: string, signal: string | null = null) =>
      exec({
        content: [{ type: "text", text: `exit ${exitCode}` }],
        structuredContent: { exitCode, signal, stdout: "", stderr, durationMs: 12, changes: [] },
      });
    const check: Check = { command: "sh test.sh" };
    const outcome = async (commands: CheckContext["commands"]) => (await judge([check], { ...context({}), commands }))[0];
    expect(await outcome(exited(0, ""))).toEqual({ check: "`sh test.sh` exits 0", status: "pass" });
    expect(calls[0]).toEqual({ name: "exec", arguments: { command: "sh test.sh", timeout_ms: 120_000, sandbox: "wsd" } });
    expect(await outcome(exited(2, "not ok 1\n"))).toMatchObject({ status: "fail", why: "exit 2: not ok 1" });
    expect(await outcome(exited(null, "", "SIGKILL"))).toMatchObject({ status: "fail", why: "killed by SIGKILL" });
    const noWsd = exec({ isError: true, content: [{ type: "text", text: "no wsd is attached to this workspace; run wsd mount" }] });
    expect(await outcome(noWsd)).toMatchObject({ status: "fail", why: "could not run it: exec failed: no wsd is attached to this workspace; run wsd mount" });
    // A program the workspace's own shell lacks: the check needs a sandbox, it did not fail.
    const noNode = exited(127, "node: not available without a sandbox; attach a wsd (wsd mount) to run npm, node, git, python, make and compilers\n");
    expect(await outcome(noNode)).toEqual({
      check: "`sh test.sh` exits 0",
      status: "skipped",
      why: "needs a sandbox (--mount) (`node` is not in the workspace's own shell)",
    });
  });

  it("compares two views of a tree path by path", () => {
    const mcp = tree({ "/a": "1", "/d/b": "22" });
    const mount = tree({ "/a": "1", "/d/b": "2", "/c": "" });
    expect(diffSnapshots(mcp, mount, ["MCP", "the mount"])).toEqual(["/c: only in the mount", "/d/b: content differs (2 B in MCP, 1 B in the mount)"]);
  });
});

describe("eval tasks", () => {
  it("makes content from text, CRLF and BOM text, base64 and generated lines", () => {
    expect(contentBytes({ text: "a\nb\n", eol: "crlf", bom: true })).toEqual(bytes("\uFEFFa\r\nb\r\n"));
    expect(contentBytes({ base64: "AP8=" })).toEqual(Uint8Array.from([0, 255]));
    expect(new TextDecoder().decode(contentBytes({ generate: { lines: 3, line: "row {n}", set: { "2": "second" } } }))).toBe("row 1\nsecond\nrow 3\n");
  });

  it("refuses a malformed task file, naming it and the problem", () => {
    expect(() => parseTask("broken", "kind: x\ninstruction: y\nfiles: {}\nchecks: [{ file: /a, contians: b }]\nreference: []\n")).toThrow(
      /^broken.yaml: not a valid eval task:\n[\s\S]*checks/,
    );
    expect(() => parseTask("bad-yaml", "kind: [")).toThrow(/^bad-yaml.yaml: not valid YAML/);
    expect(() => parseTask("bad-tool", "kind: x\ninstruction: y\nfiles: {}\nchecks: [{ absent: /a }]\nreference: [{ tool: rm }]\n")).toThrow(
      /^bad-tool.yaml: not a valid eval task:[\s\S]*reference/,
    );
  });

  it("every task's checks fail on its initial tree (a task that passes untouched proves nothing)", async () => {
    for (const task of await loadTasks()) {
      const initial = snapshotOfFiles(initialFiles(task));
      const outcomes = await evaluateChecks(task.checks, { tree: initial, initial, toolErrors: [], commands: { skip: "not here" } });
      expect(
        outcomes.some((outcome) => outcome.status === "fail"),
        task.name,
      ).toBe(true);
    }
  });

  it("selects tasks by glob or substring", async () => {
    const tasks = await loadTasks();
    expect(selectTasks(tasks, "json-*").map((task) => task.name)).toEqual([
      "json-add-script",
      "json-bump-version",
      "json-locale-non-ascii",
      "json-remove-dependency",
    ]);
    expect(selectTasks(tasks, "crlf,bom-json").map((task) => task.name)).toEqual(["big-file-crlf-rows", "bom-json-settings", "crlf-ini-edit"]);
  });
});
