/**
 * examples/sandbox: the container's entrypoint script run on this host (Docker cannot run here)
 * against a real `wrangler dev` with tokens on: it mounts the workspace with wsd, an MCP write
 * shows up in the mount, a command runs inside it, and SIGTERM unmounts cleanly.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, connectMcp, type DevServer, startDevServer } from "../../harness/dev-server.ts";
import { eventually } from "../../harness/eventually.ts";
import { scopedToken } from "../../src/agent/scoped-token.ts";

const canMount = process.getuid?.() === 0 && existsSync("/dev/fuse");
const entrypoint = join(import.meta.dirname, "../../examples/sandbox/entrypoint.sh");
const SECRET = "sandbox-secret";
const dir = mkdtempSync(join(tmpdir(), "sandbox-"));
let server: DevServer;
/** Sandboxes not yet exited: afterAll stops them (unmounting) before removing their directories. */
const running = new Set<Sandbox>();

interface Sandbox {
  child: ChildProcess;
  log: () => string;
  /** The script's exit code (null if a signal killed it). */
  exited: Promise<number | null>;
}

/**
 * Runs the entrypoint as the container would, with Node 22 first on PATH for its `node`.
 * `token` defaults to the workspace's own; `stdin` is piped to the script.
 */
async function startSandbox(workspace: string, options: { command?: string[]; token?: string; stdin?: string } = {}): Promise<Sandbox> {
  const env = {
    ...process.env,
    PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
    WORKSPACE_URL: `${server.url}/w/${workspace}`,
    WORKSPACE_TOKEN: options.token ?? (await scopedToken(SECRET, workspace)),
    WORKSPACE_DIR: join(dir, workspace),
    XDG_CACHE_HOME: join(dir, "cache"),
  };
  const child = spawn("sh", [entrypoint, ...(options.command ?? [])], { env, stdio: ["pipe", "pipe", "pipe"] });
  child.stdin!.end(options.stdin ?? "");
  let output = "";
  child.stdout!.on("data", (data) => (output += data));
  child.stderr!.on("data", (data) => (output += data));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const sandbox = { child, log: () => output, exited };
  running.add(sandbox);
  void exited.then(() => running.delete(sandbox));
  return sandbox;
}

const isMounted = (path: string) => readFileSync("/proc/mounts", "utf8").includes(` ${path} fuse`);

async function mounted(sandbox: Sandbox, path: string): Promise<void> {
  await eventually(() => {
    expect(sandbox.child.exitCode, sandbox.log()).toBeNull();
    expect(isMounted(path)).toBe(true);
  }, 30_000);
}

/** An MCP client of `workspace`, with its token. */
const mcpOf = async (workspace: string) => connectMcp(server.url, workspace, await scopedToken(SECRET, workspace));

describe.skipIf(!canMount)("examples/sandbox entrypoint (needs root and /dev/fuse)", () => {
  beforeAll(async () => {
    server = await startDevServer({ persistTo: join(dir, "state"), token: SECRET });
  }, 120_000);

  afterAll(async () => {
    for (const sandbox of running) sandbox.child.kill("SIGTERM");
    await Promise.all([...running].map((sandbox) => sandbox.exited));
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("mounts the workspace, shows an MCP write in the mount, and unmounts on SIGTERM", async () => {
    const sandbox = await startSandbox("idle");
    const mnt = join(dir, "idle");
    await mounted(sandbox, mnt);
    await callTool(await mcpOf("idle"), "write", { path: "/from-mcp.txt", content: "written through MCP\n" });
    await eventually(async () => expect(await readFile(join(mnt, "from-mcp.txt"), "utf8")).toBe("written through MCP\n"));
    sandbox.child.kill("SIGTERM");
    expect(await sandbox.exited).toBe(143);
    expect(isMounted(mnt)).toBe(false);
    expect(sandbox.log()).toMatch(/wsd: unmounted/);
  }, 60_000);

  it("runs a command inside the mount, with the script's stdin, and exits with its status once its changes are pushed", async () => {
    const mcp = await mcpOf("job");
    await callTool(mcp, "write", { path: "/task.md", content: "count the lines\n" });
    const command = ["sh", "-c", "wc -l < task.md > answer.txt && cat > note.txt && exit 3"];
    const sandbox = await startSandbox("job", { command, stdin: "typed into the sandbox\n" });
    expect(await sandbox.exited).toBe(3);
    expect(isMounted(join(dir, "job"))).toBe(false);
    expect(await callTool(mcp, "read", { path: "/answer.txt" })).toBe("     1\t1");
    expect(await callTool(mcp, "read", { path: "/note.txt" })).toBe("     1\ttyped into the sandbox");
  }, 60_000);

  it("exits with wsd's status when the workspace refuses it", async () => {
    const sandbox = await startSandbox("refused", { command: ["true"], token: "not-the-token" });
    expect(await sandbox.exited).toBe(4); // wsd's exit code for a refused token
    expect(sandbox.log()).toMatch(/entrypoint: wsd exited \(4\) before mounting/);
    expect(isMounted(join(dir, "refused"))).toBe(false);
  }, 60_000);
});
