/**
 * `npm start` as a user runs it: the server and the mount come up, and a signal to the npm process
 * alone takes everything down in order (wsd pushes and unmounts, then wrangler and workerd stop)
 * with nothing left running and nothing lost.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startDevServer } from "../../harness/dev-server.ts";
import { canMount } from "../../harness/wsd.ts";
import { scopedToken } from "../../src/agent/scoped-token.ts";

const root = join(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "npm-start-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Started {
  npm: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `npm start -- ...args` from the repository, its wsd cache in `dir`. */
function npmStart(args: string[]): Started {
  const npm = spawn("npm", ["start", "--", ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, XDG_CACHE_HOME: join(dir, "cache") },
  });
  let output = "";
  npm.stdout!.on("data", (data) => (output += data));
  npm.stderr!.on("data", (data) => (output += data));
  const exited = new Promise<number | null>((resolve) => npm.once("exit", (code) => resolve(code)));
  return { npm, output: () => output, exited };
}

async function waitFor(started: Started, text: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!started.output().includes(text)) {
    if (started.npm.exitCode !== null) throw new Error(`npm start exited with ${started.npm.exitCode}:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`npm start did not print "${text}" within 90 s:\n${started.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Processes whose command line mentions `marker`. */
function processesMentioning(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (command.includes(marker)) found.push(`${pid}: ${command}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const freePort = () => 20_000 + Math.floor(Math.random() * 20_000);

describe.skipIf(!canMount)("npm start", () => {
  it("SIGTERM to the npm process alone pushes, unmounts and stops wrangler, workerd and wsd, leaving nothing behind", async () => {
    const [port, mountpoint, state] = [freePort(), join(dir, "mnt"), join(dir, "state")];
    const started = npmStart(["--port", String(port), "--mount", mountpoint, "--persist-to", state]);
    await waitFor(started, "wsd: mounted");
    expect(started.output()).toContain(`MCP:   http://localhost:${port}/w/default/mcp`);
    await writeFile(join(mountpoint, "kept.txt"), "written just before the stop\n");

    started.npm.kill("SIGTERM");
    expect(await started.exited).not.toBeNull();
    expect(started.output()).toContain(`wsd: unmounted ${mountpoint}`);
    expect(readFileSync("/proc/mounts", "utf8")).not.toContain(mountpoint);
    expect(processesMentioning(state)).toEqual([]);
    expect(processesMentioning(mountpoint)).toEqual([]);

    const server = await startDevServer({ persistTo: state });
    try {
      expect(await (await fetch(`${server.url}/w/default/files/kept.txt`)).text()).toBe("written just before the stop\n");
    } finally {
      await server.stop();
    }
  }, 180_000);

  it("with a WORKSPACE_TOKEN in the env file, mounts with the scoped token and prints the claude line with its header", async () => {
    const [port, mountpoint, state, envFile] = [freePort(), join(dir, "mnt-token"), join(dir, "state-token"), join(dir, "dev.env")];
    writeFileSync(envFile, "WORKSPACE_TOKEN=start-test-secret\n");
    const started = npmStart(["--port", String(port), "--mount", mountpoint, "--persist-to", state, "--env-file", envFile]);
    try {
      await waitFor(started, "wsd: mounted");
      const token = await scopedToken("start-test-secret", "default");
      expect(started.output()).toContain(
        `claude mcp add --transport http workspace http://localhost:${port}/w/default/mcp --header "Authorization: Bearer ${token}"`,
      );
      expect((await fetch(`http://localhost:${port}/w/default/files/`)).status).toBe(401);
    } finally {
      started.npm.kill("SIGINT");
      await started.exited;
    }
    expect(readFileSync("/proc/mounts", "utf8")).not.toContain(mountpoint);
    expect(processesMentioning(state)).toEqual([]);
  }, 180_000);
});
