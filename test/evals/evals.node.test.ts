/**
 * The eval tasks end to end against a real `wrangler dev`: every task's reference solution passes
 * (so every task and every tool works), the checker fails trees that are wrong, the model path
 * (AI SDK + @ai-sdk/mcp) works with a scripted model, and the official filesystem server runs the
 * same tasks side by side, its command checks in a local shell.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NEEDS_SANDBOX } from "../../evals/checks.ts";
import { mountUnavailable } from "../../evals/mount.ts";
import { htmlReport, markdownReport } from "../../evals/report.ts";
import { type RunOptions, runOnWorkspace, runTasks, type TaskResult } from "../../evals/runner.ts";
import { loadTasks, type Task, WORKSPACE_TOOLS } from "../../evals/tasks.ts";
import { newRunId, type WorkspaceServer } from "../../evals/workspace.ts";
import { type DevServer, startDevServer } from "../../harness/dev-server.ts";

const state = mkdtempSync(join(tmpdir(), "evals-test-"));

/**
 * Mount each task's workspace with wsd: the final tree is read through the mount too, and command
 * checks run through the MCP exec tool. Where FUSE is unavailable the mount pass is left out and
 * command checks stay skipped.
 */
const WITH_MOUNT = true;
const MOUNT_ROOT = WITH_MOUNT && !mountUnavailable() ? join(state, "mounts") : undefined;

let dev: DevServer;
let server: WorkspaceServer;
let tasks: Task[];
const reference = (): RunOptions => ({ mode: "reference", runId: newRunId(), mountRoot: MOUNT_ROOT });
/** Tasks at once: times do not matter here. */
const concurrency = 4;
const task = (name: string) => tasks.find((candidate) => candidate.name === name)!;
const hasCommand = (task: Task) => task.checks.some((check) => "command" in check);
/** A task with a command check that runs a program (node) rather than the shell's own utilities. */
const needsSandbox = (task: Task) => task.checks.some((check) => "command" in check && /^node\b/.test(check.command));
const failedChecks = (result: TaskResult) => result.checks.filter((check) => check.status === "fail").map((check) => check.check);

beforeAll(async () => {
  [dev, tasks] = await Promise.all([startDevServer({ persistTo: join(state, "wrangler") }), loadTasks()]);
  server = { url: dev.url };
}, 120_000);

afterAll(async () => {
  await dev?.stop();
  rmSync(state, { recursive: true, force: true });
});

describe("evals", () => {
  it("has at least 30 tasks whose reference solutions use every tool", () => {
    expect(tasks.length).toBeGreaterThanOrEqual(30);
    const used = new Set(tasks.flatMap((task) => task.reference.map((step) => step.tool)));
    expect([...used].sort()).toEqual([...WORKSPACE_TOOLS].sort());
  });

  it("passes every task's reference solution on the workspace server", async () => {
    const runs = await runTasks(tasks, server, { ...reference(), concurrency });
    for (const { workspace: result } of runs) {
      // Without a mount, command checks run in the workspace's own shell; those that run node are skipped.
      expect(result.status, `${result.task}: ${result.reason}`).toBe(MOUNT_ROOT || !needsSandbox(task(result.task)) ? "pass" : "skipped");
      if (result.status !== "skipped") continue;
      // Skipped only for want of a sandbox: every file check passed.
      expect(result.reason).toContain(NEEDS_SANDBOX);
      expect(result.checks.filter((check) => check.status !== "pass").every((check) => check.check.startsWith("`"))).toBe(true);
    }
  }, 300_000);

  it("fails a task whose solution does nothing, or does the wrong thing", async () => {
    const idle = await runOnWorkspace(server, { ...task("fix-off-by-one"), reference: [] }, reference());
    expect(idle.status).toBe("fail");
    expect(failedChecks(idle)).toEqual([
      '/src/range.js contains "for (let i = 0; i < n; i++) out.push(i);"',
      '/src/range.js lacks "<="',
      // The task's own tests, run in the sandbox through exec, fail on the untouched tree too.
      ...(MOUNT_ROOT ? ["`node --test test/range.test.js` exits 0"] : []),
    ]);

    const mustFail = task("missing-file-fails-cleanly");
    const created = await runOnWorkspace(
      server,
      {
        ...mustFail,
        reference: [{ tool: "write", args: { path: "/config/server.json", content: '{ "port": 8080 }\n' } }],
      },
      reference(),
    );
    expect(created.status).toBe("fail");
    expect(failedChecks(created)).toEqual(["a tool call failed with /ENOENT|does not exist|no such file/", "the tree is unchanged"]);
    expect(created.reason).toMatch(/no tool call failed/);

    const unexpected = await runOnWorkspace(
      server,
      {
        ...mustFail,
        reference: [{ tool: "read", args: { path: "/config/settings.json" }, expect: { error: true } }],
      },
      reference(),
    );
    expect(unexpected.reason).toMatch(/^step 1 \(read\) should have failed, but it answered: +1\t\{ "port": 3000/);
  }, 60_000);

  it("runs further attempts of a task on the same workspace, reset by restoring its start checkpoint", async () => {
    // Each reference solution edits its files: an attempt on a tree that was not reset would fail its edits or checks.
    const names = ["json-bump-version", "big-file-deep-edit"];
    const runs = await runTasks(names.map(task), server, { ...reference(), mountRoot: undefined, attempts: 3, concurrency: 2 });
    for (const run of runs) {
      expect(run.attempts!.map((result) => [result.status, result.prepared?.by])).toEqual([
        ["pass", "seed"],
        ["pass", "restore"],
        ["pass", "restore"],
      ]);
    }
    const report = markdownReport({ runId: "r", date: "d", mode: "reference", server: "s", mount: "m", tasks: runs });
    expect(report).toMatch(
      /## Attempts\n\nEach task ran 3 times on the workspace: the first attempt seeded it \(mean \d+ ms\), each further one restored its start checkpoint instead/,
    );
    expect(report).toContain("| json-bump-version | 3/3 | pass (seed");
    // The page shows each task's change to the tree as a diff.
    const page = htmlReport({ runId: "r", date: "d", mode: "reference", server: "s", mount: "m", tasks: runs });
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain("<th>json-bump-version<br>");
    expect(runs[0]!.workspace.treeDiff).toMatch(/^=+\n--- a\/apps\/web\/package\.json\n\+\+\+ b\/apps\/web\/package\.json/);
    expect(page).toContain('<span class="del">-  &quot;version&quot;: &quot;1.4.2&quot;,</span>');
    expect(page).toContain('<span class="add">+  &quot;version&quot;: &quot;1.5.0&quot;,</span>');
  }, 120_000);

  it("drives the same tools through the AI SDK with a scripted model", async () => {
    const names = ["big-file-deep-edit", "binary-copy-exact", "missing-file-fails-cleanly", "rename-function-across-files", "bom-csharp-rename"];
    const runs = await runTasks(names.map(task), server, {
      mode: "model",
      runId: newRunId(),
      mountRoot: MOUNT_ROOT,
      model: { provider: "scripted", model: "reference", maxSteps: 30 },
      concurrency,
    });
    for (const { workspace: result } of runs) {
      expect(result.status, `${result.task}: ${result.reason}`).toBe(MOUNT_ROOT || !needsSandbox(task(result.task)) ? "pass" : "skipped");
      expect(result.toolCalls).toBe(task(result.task).reference.length);
      expect(result.tokens).toEqual({ input: 0, output: 0 });
    }
    expect(runs.find((run) => run.name === "missing-file-fails-cleanly")!.workspace.toolErrors).toEqual([
      expect.stringMatching(/^ENOENT: \/config\/server.json does not exist/),
    ]);
  }, 120_000);

  it("runs the official filesystem server side by side, with its command checks in a local shell", async () => {
    const selected = tasks.filter((task) => hasCommand(task) || ["crlf-ini-edit", "gitignore-append"].includes(task.name));
    const runs = await runTasks(selected, server, { ...reference(), peer: true, concurrency });
    const peer = Object.fromEntries(runs.map((run) => [run.name, run.peer!]));
    // The task's own tests and scripts pass on the peer's tree: the command checks are sound.
    for (const result of Object.values(peer).filter((result) => hasCommand(task(result.task)))) {
      expect(result.status, `${result.task}: ${result.reason}`).toBe("pass");
      expect(result.checks.some((check) => check.check.startsWith("`") && check.status === "pass")).toBe(true);
    }
    expect(peer["crlf-ini-edit"]).toMatchObject({ status: "fail", reason: "/config/app.ini has the expected content: CRLF line endings became LF" });
    expect(peer["gitignore-append"]).toMatchObject({ status: "not expressible", reason: expect.stringMatching(/^no append tool/) });
  }, 120_000);
});
