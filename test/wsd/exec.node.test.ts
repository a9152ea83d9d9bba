/**
 * exec end to end: a real `wrangler dev`, real `wsd mount` processes, the MCP `exec` tool
 * called with the official SDK client, and the barriers checked through the file tools.
 */

import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectMcp, type DevServer, startDevServer } from "../../harness/dev-server.ts";
import { eventually } from "../../harness/eventually.ts";
import { canMount, clearDeadMount, runningWsds, spawnWsd, type Wsd } from "../../harness/wsd.ts";
import type { ExecOutcome } from "../../src/mcp/workspace.ts";
import type { ExecResult } from "../../src/wire/exec.ts";

const dir = mkdtempSync(join(tmpdir(), "wsd-exec-"));
chmodSync(dir, 0o755); // commands also run as another user (--exec-user), who must reach the mounts
let server: DevServer;

/** The exec tool's structured content: the command's result, who ran it and what it changed. */
type ExecStructured = ExecResult & Pick<ExecOutcome, "wsd" | "changes">;

interface ToolAnswer {
  isError?: boolean;
  text: string;
  structured: ExecStructured;
}

async function tool(mcp: Client, name: string, args: Record<string, unknown>): Promise<ToolAnswer> {
  const result = (await mcp.callTool({ name, arguments: args })) as { isError?: boolean; content: { text: string }[]; structuredContent?: ExecStructured };
  return { isError: result.isError, text: result.content.map((part) => part.text).join("\n"), structured: result.structuredContent! };
}

async function exec(mcp: Client, command: string, options: Record<string, unknown> = {}): Promise<ExecStructured & { text: string }> {
  const answer = await tool(mcp, "exec", { command, ...options });
  if (answer.isError) throw new Error(answer.text);
  return { ...answer.structured, text: answer.text };
}

async function read(mcp: Client, path: string): Promise<string> {
  const answer = await tool(mcp, "read", { path });
  if (answer.isError) throw new Error(answer.text);
  return answer.text;
}

async function mountWorkspace(workspace: string, args: string[] = []): Promise<Wsd> {
  const wsd = spawnWsd(server.url, workspace, join(dir, `mnt-${workspace}-${runningWsds.size}`), join(dir, `cache-${workspace}-${runningWsds.size}`), args);
  await wsd.mounted();
  return wsd;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!canMount)("exec through wsd", () => {
  let mcp: Client;

  beforeAll(async () => {
    server = await startDevServer({ persistTo: join(dir, "state") });
    mcp = await connectMcp(server.url, "exec");
    // Listing the tools arms the SDK client's check of every answer against its tool's output schema.
    await mcp.listTools();
    await tool(mcp, "write", { path: "/seed.txt", content: "seed\n" });
    await tool(mcp, "write", { path: "/keep.txt", content: "keep\n" });
    await mountWorkspace("exec", ["--name", "main-box"]);
  }, 120_000);

  afterAll(async () => {
    for (const wsd of runningWsds) await wsd.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs commands as --exec-user, whose files the workspace shows as that user's", async () => {
    const other = await connectMcp(server.url, "exec-as-nobody");
    const wsd = await mountWorkspace("exec-as-nobody", ["--exec-user", "nobody"]);
    await tool(other, "mkdir", { path: "/open" });
    await promisify(execFile)("chmod", ["777", join(wsd.mountpoint, "open")]);
    const ids = await exec(other, "id -u && id -g");
    expect(ids.stdout).toBe("65534\n65534\n");
    const denied = await exec(other, "touch at-root.txt");
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderr).toContain("Permission denied"); // the workspace root is root's, 0755
    await exec(other, "echo mine > open/mine.txt");
    expect((await tool(other, "stat", { path: "/open/mine.txt" })).text).toContain("owner: uid 65534, gid 65534");
  });

  it("runs at the workspace root, and read sees what the command did right after", async () => {
    const result = await exec(mcp, "mkdir -p out && echo hi > out/a.txt && rm seed.txt && echo more >> keep.txt && pwd");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/\/mnt-exec-\d+\n$/);
    expect(result.changes).toEqual([
      { path: "/keep.txt", change: "modified" },
      { path: "/out", change: "created" },
      { path: "/out/a.txt", change: "created" },
      { path: "/seed.txt", change: "deleted" },
    ]);
    expect(result.text).toMatch(/^exit code 0 · \d+ ms · wsd main-box/);
    expect(result.text).toContain("changed files:\nM /keep.txt\nA /out\nA /out/a.txt\nD /seed.txt");
    // No waiting: the barrier pushed everything before exec answered.
    expect(await read(mcp, "/out/a.txt")).toBe("     1\thi");
    expect(await read(mcp, "/keep.txt")).toBe("     1\tkeep\n     2\tmore");
    expect((await tool(mcp, "read", { path: "/seed.txt" })).text).toMatch(/^ENOENT/);
  });

  it("pushes what the command wrote before answering, also to a file still held open for writing", async () => {
    // The shell opens the file for the group, and the background sleep keeps it open past the
    // command's end, as the kernel's late release of a just-closed file does: a push would
    // otherwise hold the file back as still being written.
    const result = await exec(mcp, "{ echo held >&3; sleep 3 >/dev/null 2>&1 </dev/null & } 3>held.txt");
    expect(result.exitCode).toBe(0);
    expect(result.changes).toEqual([{ path: "/held.txt", change: "created" }]);
    expect(await read(mcp, "/held.txt")).toBe("     1\theld");
  });

  it("shows the command every edit made just before it, also in files and names it has looked at", async () => {
    await tool(mcp, "write", { path: "/grow.txt", content: "short\n" });
    await tool(mcp, "write", { path: "/gone.txt", content: "gone\n" });
    await tool(mcp, "write", { path: "/turns/into-a-dir", content: "file\n" });
    // The kernel caches what this command saw (sizes, names, pages) for its timeouts.
    expect((await exec(mcp, "cat grow.txt && stat -c %s gone.txt && stat -c %F turns")).stdout).toBe("short\n5\ndirectory\n");
    // Grown, removed and replaced right before the call: the command must see every change.
    await tool(mcp, "edit", { path: "/grow.txt", edits: [{ old_text: "short", new_text: "a much longer line than before" }] });
    await tool(mcp, "write", { path: "/fresh/new.txt", content: "new\n" });
    await tool(mcp, "delete", { path: "/gone.txt" });
    await tool(mcp, "delete", { path: "/turns", recursive: true });
    await tool(mcp, "write", { path: "/turns", content: "a file now\n" });
    // stat first: a read would refresh the size by itself.
    const result = await exec(mcp, "stat -c %s grow.txt && cat grow.txt fresh/new.txt && stat -c %F turns; test -e gone.txt || echo no gone.txt");
    expect(result.stdout).toBe("31\na much longer line than before\nnew\nregular file\nno gone.txt\n");
    expect(result.changes).toEqual([]);
  });

  it("runs in cwd, with stdin and env, and reports a failing command without a tool error", async () => {
    await tool(mcp, "mkdir", { path: "/sub/dir" });
    const here = await exec(mcp, 'pwd && cat && echo "$GREETING" && echo oops >&2 && exit 3', {
      cwd: "/sub/dir",
      stdin: "from stdin\n",
      env: { GREETING: "hello" },
    });
    expect(here.stdout).toMatch(/\/sub\/dir\nfrom stdin\nhello\n$/);
    expect(here.stderr).toBe("oops\n");
    expect(here.exitCode).toBe(3);
    expect(here.text).toMatch(/^exit code 3/);
    const missing = await tool(mcp, "exec", { command: "true", cwd: "/nowhere" });
    expect(missing.isError).toBe(true);
    expect(missing.text).toBe("ENOENT: /nowhere does not exist");
    const notDir = await tool(mcp, "exec", { command: "true", cwd: "/keep.txt" });
    expect(notDir.text).toBe("ENOTDIR: /keep.txt is not a directory; give a directory as cwd");
  });

  it("streams output as progress while the command runs", async () => {
    const notes: { at: number; message: string }[] = [];
    await mcp.callTool({ name: "exec", arguments: { command: "echo first; sleep 1; echo second >&2" } }, undefined, {
      onprogress: ({ message }) => notes.push({ at: Date.now(), message: message ?? "" }),
    });
    const ended = Date.now();
    // First the run's id (what exec_kill takes), then the output as it came.
    expect(notes[0]!.message).toMatch(/^exec-[0-9a-f]{8} started on wsd main-box; exec_kill \{"id": "exec-[0-9a-f]{8}"\} stops it\n$/);
    expect(
      notes
        .slice(1)
        .map((note) => note.message)
        .join(""),
    ).toBe("first\nsecond\n");
    // The first line arrived while the command still slept.
    expect(ended - notes[1]!.at).toBeGreaterThan(500);
  });

  it("kills the whole process group on timeout", async () => {
    const pidFile = join(dir, "background.pid");
    const result = await exec(mcp, `sleep 300 & echo $! > ${pidFile}; sleep 300`, { timeout_ms: 500 });
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe("SIGTERM");
    expect(result.durationMs).toBeLessThan(10_000);
    expect(result.text).toMatch(/^timed out and was killed/);
    const background = Number(readFileSync(pidFile, "utf8"));
    await eventually(async () => expect(alive(background)).toBe(false));
  });

  it("runs a command in the background, followed from another client by id until it ends", async () => {
    const started = await tool(mcp, "exec", { command: "echo tick; sleep 2; echo tock >&2; echo done > bg.txt", background: true });
    expect(started.isError).toBeFalsy();
    const { id, status } = started.structured as unknown as { id: string; status: string };
    expect(status).toBe("running");
    expect(started.text).toContain(`exec_status {"id": "${id}"`);
    // Another client (a reconnect) finds the run by id while it runs, with the output so far.
    const other = await connectMcp(server.url, "exec");
    await other.listTools();
    const running = await eventually(async () => {
      const answer = await tool(other, "exec_status", { id });
      expect(answer.text).toContain("stdout so far:\ntick");
      return answer;
    });
    const [runningRun] = (running.structured as unknown as { runs: Record<string, unknown>[] }).runs;
    expect(runningRun).toMatchObject({ id, status: "running", stdoutTail: "tick\n", stdoutChars: 5, killed: false });
    expect(await tool(other, "read", { path: "/bg.txt" })).toMatchObject({ isError: true });
    const ended = await tool(other, "exec_status", { id, wait_ms: 30_000 });
    expect(ended.text).toMatch(new RegExp(`^${id} has ended: echo tick;[^]*exit code 0 ·[^]*stdout:\ntick[^]*stderr:\ntock[^]*A /bg.txt`));
    const [endedRun] = (ended.structured as unknown as { runs: { status: string; result: ExecStructured }[] }).runs;
    expect(endedRun!.status).toBe("ended");
    expect(endedRun!.result).toMatchObject({ exitCode: 0, id, stdout: "tick\n", changes: [{ path: "/bg.txt", change: "created" }] });
    expect(await read(other, "/bg.txt")).toBe("     1\tdone");
    // The list shows it with how it ended; the foreground runs are there too.
    const listed = await tool(other, "exec_status", {});
    expect(listed.text).toMatch(new RegExp(`${id} · exit code 0 after [\\d.]+ s · wsd main-box · echo tick`));
  });

  it("kills a background run with exec_kill, its whole process group, and says so when it had ended", async () => {
    const pidFile = join(dir, "killed.pid");
    const started = await tool(mcp, "exec", { command: `sleep 300 & echo $! > ${pidFile}; sleep 300`, background: true });
    const { id } = started.structured as unknown as { id: string };
    await eventually(async () => expect(readFileSync(pidFile, "utf8")).toMatch(/^\d+\n$/));
    const killed = await tool(mcp, "exec_kill", { id });
    expect(killed.isError).toBeFalsy();
    expect(killed.text).toMatch(new RegExp(`^${id} has ended:[^]*killed by SIG`));
    await eventually(async () => expect(alive(Number(readFileSync(pidFile, "utf8")))).toBe(false));
    const again = await tool(mcp, "exec_kill", { id });
    expect(again.text).toMatch(new RegExp(`^${id} had already ended; nothing was killed`));
  });

  it("answers a clear error for a run it does not know, and for what is not a run id", async () => {
    const unknown = await tool(mcp, "exec_status", { id: "exec-00000000" });
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toMatch(/^ENOENT: \(exec exec-00000000\) is not a run of this workspace/);
    expect((await tool(mcp, "exec_kill", { id: "exec-00000000" })).text).toMatch(/^ENOENT/);
    const malformed = await tool(mcp, "exec_kill", { id: "../etc" });
    expect(malformed.isError).toBe(true);
    expect(malformed.text).toMatch(/EINVAL|an exec run id looks like exec-1a2b3c4d/);
  });

  it("kills a command when a 2026-07-28 client gives up on the call (closing its stream is the cancellation)", async () => {
    const pidFile = join(dir, "cancelled.pid");
    const client = new ModernClient({ name: "canceller", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
    await client.connect(new ModernTransport(new URL(`${server.url}/w/exec/mcp`)));
    const controller = new AbortController();
    const call = client.callTool(
      { name: "exec", arguments: { command: `echo $$ > ${pidFile}; exec sleep 300` } },
      { signal: controller.signal, onprogress: () => {} },
    );
    await eventually(async () => expect(readFileSync(pidFile, "utf8")).toMatch(/^\d+\n$/));
    controller.abort();
    await expect(call).rejects.toThrow();
    // The server notices at the stream's next keepalive (every 5 s) at the latest.
    await eventually(async () => expect(alive(Number(readFileSync(pidFile, "utf8")))).toBe(false), 20_000);
    await client.close();
    const listed = await tool(mcp, "exec_status", {});
    expect(listed.text).toMatch(/exec-[0-9a-f]{8} · killed by SIG\w+ after [\d.]+ s · wsd main-box · echo \$\$ > .*cancelled\.pid; exec sleep 300/);
  });

  it("caps huge output, cutting the middle and stating the totals", async () => {
    const result = await exec(mcp, "yes 0123456789 | head -c 20000000; echo tail-marker");
    expect(result.exitCode).toBe(0);
    expect(result.stdoutChars).toBe(20_000_000 + "tail-marker\n".length);
    expect(result.stdout.length).toBeLessThan(40_000);
    expect(result.stdout.startsWith("0123456789\n")).toBe(true);
    expect(result.stdout.endsWith("tail-marker\n")).toBe(true);
    expect(result.text).toContain(`stdout (${20_000_012} characters; the middle is left out)`);
  });

  it("chooses a wsd by name, the most recently attached by default", async () => {
    const other = await mountWorkspace("exec", ["--name", "second-box"]);
    expect((await exec(mcp, "true")).wsd).toBe("second-box");
    expect((await exec(mcp, "true", { wsd: "main-box" })).wsd).toBe("main-box");
    const unknown = await tool(mcp, "exec", { command: "true", wsd: "nobody" });
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toMatch(/nobody.*is not attached; attached: .*main-box/);
    await other.stop();
    await eventually(async () => expect((await exec(mcp, "true")).wsd).toBe("main-box"));
  });

  it("says how to attach a wsd when a sandbox is asked for and none is, and refuses exec for --no-exec", async () => {
    const lone = await connectMcp(server.url, "exec-lone");
    const none = await tool(lone, "exec", { command: "echo hi", sandbox: "wsd" });
    expect(none.isError).toBe(true);
    expect(none.text).toMatch(/no wsd is attached to this workspace\. Attach one with `wsd mount/);
    // Without a sandbox asked for, the workspace's own shell runs it.
    expect(await exec(lone, "echo hi")).toMatchObject({ stdout: "hi\n", sandbox: "none" });
    const refusing = await mountWorkspace("exec-lone", ["--no-exec", "--name", "locked"]);
    await eventually(async () =>
      expect((await tool(lone, "exec", { command: "echo hi", sandbox: "wsd" })).text).toMatch(/EPERM.*"locked" was started with --no-exec/),
    );
    // A wsd that runs no commands leaves them to the workspace's own shell.
    expect(await exec(lone, "echo hi")).toMatchObject({ sandbox: "none" });
    // Asked for by name, a sandbox is what runs it, or nothing.
    expect((await tool(lone, "exec", { command: "echo hi", wsd: "locked" })).text).toMatch(/EPERM/);
    await refusing.stop();
  });

  it("answers a clear error, not a hang, when wsd goes away mid-command", async () => {
    const doomed = await mountWorkspace("exec-doomed");
    const doomedMcp = await connectMcp(server.url, "exec-doomed");
    const marker = `sleep 41.${process.pid}`;
    const pending = tool(doomedMcp, "exec", { command: marker });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const started = Date.now();
    doomed.child.kill("SIGKILL");
    const answer = await pending;
    expect(answer.isError).toBe(true);
    expect(answer.text).toMatch(/EIO: \(exec\) failed: wsd ".*" disconnected while the command ran/);
    expect(Date.now() - started).toBeLessThan(15_000);
    await doomed.stop();
    await clearDeadMount(doomed.mountpoint);
    // The orphaned command and the dead mount are the sandbox's to clean; do it for the next tests.
    try {
      process.kill(Number((await exec(mcp, `pgrep -f '^${marker}$' || true`)).stdout.trim() || 0), "SIGKILL");
    } catch {
      // already gone
    }
  });
});
