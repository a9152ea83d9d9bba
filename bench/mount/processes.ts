/**
 * The processes the bench runs: shells (timed inside the shell), the wsd and floor daemons, and
 * the cleanup that stops them and removes temp dirs, also on errors and SIGINT/SIGTERM.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { cleanupRegistry } from "../../harness/cleanup.ts";
import { COMPUTERD, FLOOR, LIBFUSE_DIR, log, MiB, PROJECT, WSD_BIN } from "./options.ts";

// ---- cleanup: daemons, dev server, temp dirs; also on errors and SIGINT/SIGTERM ----------------

export const { steps: cleanups, cleanup } = cleanupRegistry(log, "stopping wsd, the floor daemon and wrangler, removing temp dirs");

export const mountsUnder = (dir: string) =>
  readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((target) => target === dir || target.startsWith(`${dir}/`));

/** A temp dir, removed at cleanup, but never while something is still mounted inside it. */
export function tempDir(parent: string, label: string): string {
  const dir = realpathSync(mkdtempSync(join(parent, `wsfs-mount-bench-${label}-`)));
  cleanups.push(async () => {
    // A failed umount is seen just below: what is still mounted is reported and kept.
    for (const target of mountsUnder(dir)) await run("umount", ["-l", target]).catch(() => {});
    const left = mountsUnder(dir);
    if (left.length) log(`cleanup: not removing ${dir}: still mounted: ${left.join(", ")}`);
    else rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

// ---- processes -----------------------------------------------------------------------------------

export const wall = () => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function run(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeout?: number; cwd?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { maxBuffer: 64 * MiB, timeout: options.timeout ?? 120_000, env: options.env ?? process.env, cwd: options.cwd },
      (error, stdout, stderr) => {
        if (error)
          reject(
            Object.assign(new Error(`${file} ${args.join(" ").slice(0, 200)}: ${error.message.slice(0, 400)}\n${stderr.slice(0, 1000)}`), { stdout, stderr }),
          );
        else resolve({ stdout, stderr });
      },
    );
  });
}

let shellEnv: NodeJS.ProcessEnv = {};

/** The environment every {@link sh} runs in; main sets it once, before the first shell. */
export function setShellEnv(env: NodeJS.ProcessEnv): void {
  shellEnv = env;
}

/** `sh -ec script` in `dir` (the shell cds there; this process never enters a mount). */
export function sh(dir: string, script: string, env: Record<string, string> = {}, timeout?: number) {
  return run("sh", ["-ec", `cd '${dir}'\n${script}`], { env: { ...shellEnv, ...env }, timeout });
}

export interface Timed {
  /** Measured inside the shell, around the command only. */
  ms: number;
  /** Around execFile, from this process (adds spawn and exit costs). */
  outerMs: number;
  output: string;
}

export async function timedSh(dir: string, command: string, env: Record<string, string> = {}, timeout?: number): Promise<Timed> {
  const start = performance.now();
  const { stdout } = await sh(dir, `t0=$(date +%s%N)\n${command}\nt1=$(date +%s%N)\necho "@@T $((t1 - t0))"`, env, timeout);
  const outerMs = performance.now() - start;
  const lines = stdout.split("\n");
  const marker = lines.findIndex((line) => line.startsWith("@@T "));
  if (marker < 0) throw new Error(`no timing line from: ${command}`);
  return { ms: Number(lines[marker]!.slice(4)) / 1e6, outerMs, output: lines.slice(0, marker).join("\n").trim() };
}

export interface Daemon {
  child: ChildProcess;
  log(): string;
  /** ms from spawn until the mounted line. */
  startMs: number;
  stop(): Promise<number>;
}

/** Spawns a mount daemon (`command` with `args`) and resolves when its output shows `ready` (no polling delay). */
export async function startDaemon(
  label: string,
  mountpoint: string,
  [command, ...args]: [string, ...string[]],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  readyMs = 60_000,
): Promise<Daemon> {
  const start = performance.now();
  const child = spawn(command, args, { cwd: PROJECT, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let stopping: Promise<number> | undefined;
  const daemon: Daemon = {
    child,
    log: () => output,
    startMs: 0,
    stop: () =>
      (stopping ??= (async () => {
        const t = performance.now();
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(killer);
        const ms = performance.now() - t;
        if (mountsUnder(mountpoint).length) {
          log(`  ${label}: still mounted after exit; umount -l ${mountpoint}`);
          await run("umount", ["-l", mountpoint]).catch((error) => log(`  umount -l: ${String(error)}`));
        }
        return ms;
      })()),
  };
  cleanups.push(async () => {
    await daemon.stop();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not mount within ${readyMs / 1000} s:\n${output}`)), readyMs);
    const onData = (data: Buffer) => {
      output += data;
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with ${code}:\n${output}`));
    });
  });
  daemon.startMs = performance.now() - start;
  return daemon;
}

export function startWsd(url: string, mountpoint: string, cache: string, extra: string[] = [], readyMs?: number): Promise<Daemon> {
  // As a user runs it: the executable, whose launcher line sets the daemon's memory options.
  return startDaemon("wsd", mountpoint, [WSD_BIN, "mount", url, mountpoint, "--cache", cache, ...extra], process.env, /wsd: mounted/, readyMs);
}

export function startFloor(mountpoint: string, libDir: string, stats = false): Promise<Daemon> {
  const env = {
    ...process.env,
    LD_LIBRARY_PATH: [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":"),
    // fuse-native unmounts with fusermount, which is not on PATH here.
    PATH: `${join(LIBFUSE_DIR, "bin")}:${process.env.PATH}`,
    // The options wsd mounts with (src/wsd/mount.ts); force/mkdir are the floor's defaults.
    FUSE_OPTS: JSON.stringify({ timeout: false, defaultPermissions: true, allowOther: true }),
    FUSE_RAW: "big_writes",
    ...(stats ? { STATS: "1" } : {}),
  };
  return startDaemon("fuse-floor", mountpoint, [process.execPath, FLOOR, mountpoint], env, /^mounted /m);
}

export const pushFailures = (daemon: Daemon) => (daemon.log().match(/push failed/g) ?? []).length;

/**
 * The reference daemon, as its start.sh starts it: the bundle runs from inside this project's
 * node_modules (it imports fuse-native at run time) with the bundled libfuse.
 */
export function startComputerd(mountpoint: string, libDir: string): Promise<Daemon> {
  const dir = join(PROJECT, "node_modules", ".peer-computerd");
  mkdirSync(dir, { recursive: true });
  copyFileSync(COMPUTERD, join(dir, "computerd.cjs"));
  mkdirSync(mountpoint, { recursive: true });
  const env = {
    ...process.env,
    LD_LIBRARY_PATH: [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":"),
    PATH: `${join(LIBFUSE_DIR, "bin")}:${process.env.PATH}`,
    PORT: String(45_000 + Math.floor(Math.random() * 5000)),
    MOUNT_POINT: mountpoint,
    FUSE_MOUNT: "fuse",
  };
  return startDaemon("computerd", mountpoint, [process.execPath, "--no-warnings", join(dir, "computerd.cjs")], env, /computerd listening/);
}

/**
 * `--pin`: every process started so far below this one (the local server: wrangler, workerd)
 * goes to CPU 0, this process to CPU 1, and what it starts later (daemons, shells) inherits CPU 1.
 */
export async function pinServerApart(): Promise<void> {
  await pin(descendants(process.pid), 0);
  await pin([process.pid], 1);
}

/**
 * What npm needs to reach the registry from a shell whose PATH puts another node first: the
 * global config file (the registry's CA on this machine) and Node's extra CA certificates when
 * set (the npm beside that node has a global config of its own, without the CA).
 */
export async function npmShellEnv(): Promise<Record<string, string>> {
  const globalConfig = process.env.npm_config_globalconfig ?? (await run("npm", ["config", "get", "globalconfig"])).stdout.trim();
  const extraCa = process.env.NODE_EXTRA_CA_CERTS;
  return { NPM_CONFIG_GLOBALCONFIG: globalConfig, ...(extraCa ? { NODE_EXTRA_CA_CERTS: extraCa } : {}) };
}

/** Every process below `pid` (from /proc). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The parent is the 2nd field after the command name, which may hold spaces: read past its ")".
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(name)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const visit = (at: number) => {
    for (const child of children.get(at) ?? []) {
      out.push(child);
      visit(child);
    }
  };
  visit(pid);
  return out;
}

/** Pins each process (all its threads) to `cpu`. */
async function pin(pids: number[], cpu: number): Promise<void> {
  for (const pid of pids) await run("taskset", ["-a", "-c", "-p", String(cpu), String(pid)]).catch(() => {});
}
