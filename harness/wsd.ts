import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

/** Real mounts need root and /dev/fuse; tests that mount skip without them. */
export const canMount = process.getuid?.() === 0 && existsSync("/dev/fuse");

const wsdBin = join(import.meta.dirname, "../bin/wsd.js");

export interface Wsd {
  child: ChildProcess;
  mountpoint: string;
  log: () => string;
  /** Resolves at wsd's "mounted" log line; rejects if it exits first or takes over 30 s. */
  mounted(): Promise<void>;
  /** SIGTERM: unmounts cleanly (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/** wsd processes a test file started, to stop in its afterAll. */
export const runningWsds = new Set<Wsd>();

/**
 * Starts `wsd mount <url>/w/<workspace> <mountpoint> --cache <cache> ...args` as its own process,
 * through the executable as installed (its launcher line sets the daemon's memory settings, and
 * `exec`s the first `node` on PATH, which `npm test` makes this repository's).
 */
export function spawnWsd(url: string, workspace: string, mountpoint: string, cache: string, args: string[] = []): Wsd {
  const child = spawn(wsdBin, ["mount", `${url}/w/${workspace}`, mountpoint, "--cache", cache, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (data) => (output += data));
  child.stderr!.on("data", (data) => (output += data));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const wsd: Wsd = {
    child,
    mountpoint,
    log: () => output,
    mounted: async () => {
      const deadline = Date.now() + 30_000;
      while (!output.includes("wsd: mounted")) {
        if (child.exitCode !== null) throw new Error(`wsd exited with ${child.exitCode}:\n${output}`);
        if (Date.now() > deadline) throw new Error(`wsd did not mount within 30 s:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    stop: async () => {
      runningWsds.delete(wsd);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  runningWsds.add(wsd);
  return wsd;
}

/** Runs a short wsd command (`status`, `unmount <dir>`) and answers its stdout. */
export async function runWsd(args: string[]): Promise<string> {
  return (await promisify(execFile)(process.execPath, [wsdBin, ...args])).stdout;
}

/** Clears the mount a killed wsd left behind (ENOTCONN), as `wsd unmount` does. */
export async function clearDeadMount(mountpoint: string): Promise<void> {
  await runWsd(["unmount", mountpoint]);
}
