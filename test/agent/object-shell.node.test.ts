/**
 * The workspace's own shell (exec with no sandbox): just-bash over a copy of the engine's tree,
 * its changes written back in one revision. The engine is the real one, on node:sqlite; the same
 * code runs in the Durable Object (test/mcp/mcp.node.test.ts calls it through MCP there).
 */
import { beforeEach, describe, expect, it } from "vitest";
import { OBJECT_SHELL, runInObject } from "../../src/agent/object-shell.ts";
import type { ExecArgs } from "../../src/mcp/workspace.ts";
import { openNodeSql, WorkspaceFs } from "../../src/workspace-do/node.ts";

let fs: WorkspaceFs;
let runs = 0;
const run = (command: string, extra: Partial<ExecArgs> = {}) => runInObject(fs, `exec-${String(++runs).padStart(8, "0")}`, { command, ...extra });
const text = (path: string) => fs.readFile(path, { encoding: "utf8" });

describe("the workspace's own shell", () => {
  beforeEach(() => {
    fs = new WorkspaceFs(openNodeSql(":memory:"), { history: {} });
    fs.writeFile("/names.txt", "carol\nalice\nbob\n");
    fs.writeFile("/src/a.ts", "// TODO first\nconst a = 1;\n", { parents: true });
    fs.writeFile("/src/b.ts", "const foo = foo();\n// TODO second\n", { parents: true });
    fs.writeFile("/logs/old.log", "x\n", { parents: true });
    fs.writeFile("/bin.sh", "#!/bin/sh\n", { mode: 0o755 });
  });

  it("pipes and redirects over the tree, and writes back what changed in one revision", async () => {
    const before = fs.rev;
    const result = await run("cat names.txt | sort > sorted.txt && wc -l < sorted.txt");
    expect(result).toMatchObject({ exitCode: 0, stdout: "3\n", stderr: "", sandbox: "none", wsd: OBJECT_SHELL, timedOut: false });
    expect(result.changes).toEqual([{ path: "/sorted.txt", change: "created" }]);
    expect(text("/sorted.txt")).toBe("alice\nbob\ncarol\n");
    expect(fs.rev).toBe(before + 1);
    const [entry] = fs.history!.log({ limit: 1 }).entries;
    expect(entry).toMatchObject({
      rev: before + 1,
      path: "/sorted.txt",
      source: { kind: "exec", call: result.id, detail: "cat names.txt | sort > sorted.txt && wc -l < sorted.txt" },
    });
  });

  it("edits in place with sed -i, greps with line numbers, and deletes with find", async () => {
    const sed = await run("sed -i 's/foo/bar/g' src/b.ts");
    expect(sed.changes).toEqual([{ path: "/src/b.ts", change: "modified" }]);
    expect(text("/src/b.ts")).toBe("const bar = bar();\n// TODO second\n");
    const grep = await run("grep -rn TODO src");
    expect(grep.stdout).toBe("src/a.ts:1:// TODO first\nsrc/b.ts:2:// TODO second\n");
    expect(grep.changes).toEqual([]);
    const found = await run("find . -name '*.log' -delete");
    expect(found.changes).toEqual([{ path: "/logs/old.log", change: "deleted" }]);
    expect(fs.exists("/logs/old.log")).toBe(false);
    expect(fs.exists("/logs")).toBe(true);
  });

  it("moves and removes whole trees, keeps modes, and runs in cwd with stdin and env", async () => {
    const moved = await run("mkdir -p out/deep && echo hi > out/deep/f && mv out done && rm -r src");
    expect(moved.changes).toEqual([
      { path: "/done", change: "created" },
      { path: "/done/deep", change: "created" },
      { path: "/done/deep/f", change: "created" },
      { path: "/src", change: "deleted" },
      { path: "/src/a.ts", change: "deleted" },
      { path: "/src/b.ts", change: "deleted" },
    ]);
    expect(fs.exists("/out")).toBe(false);
    expect(text("/done/deep/f")).toBe("hi\n");
    const copied = await run("cp bin.sh copy.sh");
    expect(fs.stat("/copy.sh").mode).toBe(0o755);
    expect(copied.changes).toEqual([{ path: "/copy.sh", change: "created" }]);
    const here = await run('pwd; cat; echo "$GREETING"', { cwd: "/done", stdin: "from stdin\n", env: { GREETING: "hello" } });
    expect(here.stdout).toBe("/done\nfrom stdin\nhello\n");
  });

  it("is undone by its run id like any command", async () => {
    const result = await run("rm names.txt && echo new > fresh.txt");
    expect(fs.exists("/names.txt")).toBe(false);
    fs.history!.undo({ calls: [result.id] });
    expect(text("/names.txt")).toBe("carol\nalice\nbob\n");
    expect(fs.exists("/fresh.txt")).toBe(false);
  });

  it("answers 127 for a program only a sandbox has, and says what would run it", async () => {
    const before = fs.rev;
    const result = await run("npm test");
    expect(result.exitCode).toBe(127);
    expect(result.stderr).toBe("npm: not available without a sandbox; attach a wsd (wsd mount) to run npm, node, git, python, make and compilers\n");
    expect(fs.rev).toBe(before);
  });

  it("stops at its timeout, and keeps the shell's own /dev out of the workspace", async () => {
    const slept = await run("echo started > started.txt; sleep 30", { timeoutMs: 300 });
    expect(slept).toMatchObject({ timedOut: true, exitCode: null, signal: "SIGTERM" });
    expect(slept.durationMs).toBeLessThan(10_000);
    // What it did before the timeout stays, as in a sandbox.
    expect(text("/started.txt")).toBe("started\n");
    const devNull = await run("echo gone > /dev/null; echo kept");
    expect(devNull.stdout).toBe("kept\n");
    expect(devNull.changes).toEqual([]);
    expect(fs.exists("/dev")).toBe(false);
  });

  it("keeps a long output's head and tail as wsd does, stating what was left out", async () => {
    const result = await run("seq 1 30000");
    const total = Array.from({ length: 30000 }, (_, i) => `${i + 1}\n`).join("").length;
    expect(result.stdoutChars).toBe(total);
    expect(result.stdout.startsWith("1\n2\n")).toBe(true);
    expect(result.stdout.endsWith("29999\n30000\n")).toBe(true);
    expect(result.stdout).toContain(`\n… ${total - 64 * 1024} characters left out …\n`);
  });

  it("is cancelled by its caller's signal", async () => {
    const controller = new AbortController();
    const pending = run("sleep 30", { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const result = await pending;
    expect(result).toMatchObject({ exitCode: null, signal: "SIGTERM", timedOut: false });
  });
});
