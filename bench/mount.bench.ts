/**
 * The mount: shell workloads on a real `wsd mount` of a fresh workspace (a local `wrangler dev`),
 * side by side in one run with tmpfs, plain disk and the bare in-memory FUSE daemon
 * (`/work/shared/tools/fuse-floor.cjs`, "the floor", mounted with wsd's options). Then the
 * propagation latency both ways (MCP → mount, mount → files route) and the restart-resume time
 * of a 3,000-file tree. See bench/README.md ("The mount (wsd) against tmpfs and the floor").
 *
 *   npm run bench:mount            # table on stdout, progress on stderr (~4.5 min)
 *   npm run bench:mount -- --json  # machine-readable results on stdout
 *   options: --reps N (default 3), --only id,id (scenario ids), --no-npm, --no-latency, --no-resume,
 *            --wsd-args "ARGS" (extra `wsd mount` arguments for the measured mount, e.g. "--attr-timeout 0")
 *
 * Needs root and /dev/fuse. Every scenario runs as `sh -ec` in a child process, in a fresh
 * subdirectory per repetition; the time is taken inside that shell (`date +%s%N` before and after
 * the command), so it holds no process-spawn cost of this Node process.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes as cryptoRandomBytes, randomFillSync } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { cleanupRegistry } from "../harness/cleanup.ts";
import { connectMcp, type DevServer, startDevServer } from "../harness/dev-server.ts";
import { type Percentiles, percentiles } from "./util.ts";

const argv = process.argv.slice(2);
const JSON_OUTPUT = argv.includes("--json");
const flagValue = (name: string) => {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
};
const REPS = Number(flagValue("--reps") ?? 3);
const WSD_ARGS = flagValue("--wsd-args")?.split(/\s+/).filter(Boolean) ?? [];
const ONLY = flagValue("--only")?.split(",");
const log = (message: string) => process.stderr.write(`${message}\n`);

const PROJECT = join(import.meta.dirname, "..");
const WSD_BIN = join(PROJECT, "bin/wsd.js");
const FLOOR = "/work/shared/tools/fuse-floor.cjs";
const LATENCY_CHILD = join(import.meta.dirname, "mount-latency-child.ts");
const require = createRequire(import.meta.url);
const LIBFUSE_DIR = join(dirname(require.resolve("fuse-shared-library-linux/package.json")), "libfuse");
const MiB = 1024 * 1024;
/** FUSE's default attr_timeout and entry_timeout (libfuse 2): 1 s. */
const KERNEL_CACHE_MS = 1000;
/** A drain marker not in the workspace after this long, without a push failure, is written again (see `drain`). */
const STALL_MS = 15_000;
const pushFailures = (daemon: Daemon) => (daemon.log().match(/push failed/g) ?? []).length;

// ---- cleanup: daemons, dev server, temp dirs; also on errors and SIGINT/SIGTERM ----------------

const { steps: cleanups, cleanup } = cleanupRegistry(log, "stopping wsd, the floor daemon and wrangler, removing temp dirs");

const mountsUnder = (dir: string) =>
  readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((target) => target === dir || target.startsWith(`${dir}/`));

/** A temp dir, removed at cleanup, but never while something is still mounted inside it. */
function tempDir(parent: string, label: string): string {
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

const wall = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function run(
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

/** `sh -ec script` in `dir` (the shell cds there; this process never enters a mount). */
function sh(dir: string, script: string, env: Record<string, string> = {}, timeout?: number) {
  return run("sh", ["-ec", `cd '${dir}'\n${script}`], { env: { ...shellEnv, ...env }, timeout });
}

interface Timed {
  /** Measured inside the shell, around the command only. */
  ms: number;
  /** Around execFile, from this process (adds spawn and exit costs). */
  outerMs: number;
  output: string;
}

async function timedSh(dir: string, command: string, env: Record<string, string> = {}): Promise<Timed> {
  const start = performance.now();
  const { stdout } = await sh(dir, `t0=$(date +%s%N)\n${command}\nt1=$(date +%s%N)\necho "@@T $((t1 - t0))"`, env);
  const outerMs = performance.now() - start;
  const lines = stdout.split("\n");
  const marker = lines.findIndex((line) => line.startsWith("@@T "));
  if (marker < 0) throw new Error(`no timing line from: ${command}`);
  return { ms: Number(lines[marker]!.slice(4)) / 1e6, outerMs, output: lines.slice(0, marker).join("\n").trim() };
}

interface Daemon {
  child: ChildProcess;
  log(): string;
  /** ms from spawn until the mounted line. */
  startMs: number;
  stop(): Promise<number>;
}

/** Spawns a mount daemon and resolves when its output shows `ready` (no polling delay). */
async function startDaemon(label: string, mountpoint: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<Daemon> {
  const start = performance.now();
  const child = spawn(process.execPath, args, { cwd: PROJECT, env, stdio: ["ignore", "pipe", "pipe"] });
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
    const timer = setTimeout(() => reject(new Error(`${label} did not mount within 60 s:\n${output}`)), 60_000);
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

function startWsd(url: string, mountpoint: string, cache: string, extra: string[] = []): Promise<Daemon> {
  return startDaemon("wsd", mountpoint, ["--no-warnings", WSD_BIN, "mount", url, mountpoint, "--cache", cache, ...extra], process.env, /wsd: mounted/);
}

function startFloor(mountpoint: string, libDir: string, stats = false): Promise<Daemon> {
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
  return startDaemon("fuse-floor", mountpoint, [FLOOR, mountpoint], env, /^mounted /m);
}

// ---- statistics ----------------------------------------------------------------------------------

type Stats = Percentiles;
const stats = percentiles;
const median = (values: number[]) => stats(values).p50;

// ---- sources on tmpfs: random data, archives, an npm project ------------------------------------

function writeRandom(path: string, size: number): void {
  const buffer = Buffer.allocUnsafe(size);
  for (let offset = 0; offset < size; offset += 16 * MiB) randomFillSync(buffer, offset, Math.min(16 * MiB, size - offset));
  writeFileSync(path, buffer);
}

/** `files` small text files, distinct (no two chunks equal), in dirs of `perDir`, tarred. */
async function makeArchive(src: string, name: string, files: number, perDir: number, minBytes: number, maxBytes: number): Promise<void> {
  const tree = join(src, `${name}-tree`);
  for (let i = 0; i < files; i++) {
    const dir = join(tree, `d${String(Math.floor(i / perDir)).padStart(2, "0")}`);
    if (i % perDir === 0) mkdirSync(dir, { recursive: true });
    const size = minBytes + Math.floor(Math.random() * (maxBytes - minBytes));
    writeFileSync(join(dir, `f${String(i % perDir).padStart(3, "0")}.txt`), `${i}\n${cryptoRandomBytes(size).toString("base64").slice(0, size)}\n`);
  }
  await run("tar", ["cf", join(src, `${name}.tar`), "-C", tree, "."]);
  rmSync(tree, { recursive: true, force: true });
}

const NPM_DEPS = { "is-number": "7.0.0", kleur: "4.1.5", ms: "2.1.3" };

/** One online install into a cache of our own, so `npm ci --offline` can run in every target. */
async function prepareNpm(src: string): Promise<string | undefined> {
  const project = join(src, "npm-project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "mount-bench", version: "1.0.0", private: true, dependencies: NPM_DEPS }, null, 2));
  try {
    // Lock entries need their tarball URLs (this machine's npmrc omits them) for an offline ci.
    await sh(
      project,
      `npm install --no-audit --no-fund --no-update-notifier --loglevel=error --omit-lockfile-registry-resolved=false --cache '${src}/npm-cache'`,
      {},
      60_000,
    );
    mkdirSync(join(src, "npm-check"));
    await sh(join(src, "npm-check"), `cp '${project}/package.json' '${project}/package-lock.json' . && ${NPM_CI}`);
    return undefined;
  } catch (error) {
    return `npm cache warm-up failed (${error instanceof Error ? error.message.replace(/\s+/g, " ").slice(0, 300) : String(error)})`;
  }
}
const NPM_CI = `npm ci --offline --no-audit --no-fund --no-update-notifier --loglevel=error --cache "$SRC/npm-cache"`;

// ---- scenarios -----------------------------------------------------------------------------------

interface Scenario {
  id: string;
  label: string;
  /**
   * Runs in the rep dir that scenario `in` left (e.g. stat and rm in create's 1,000 files), when
   * that one ran in this invocation; else in a fresh rep dir after `setup`.
   */
  in?: string;
  /** Run untimed in the fresh rep dir before the timed command. */
  setup?: string;
  /** The timed command (its stdout, trimmed, must equal `expect` when given). */
  run: string;
  expect?: string;
  /** Untimed check after the run: its stdout, trimmed, must equal `verify[1]`. */
  verify?: [string, string];
  /** The anchor's ratio (time on its FUSE mount ÷ tmpfs). */
  anchor?: number;
  /** Beating the anchor's ratio is one of our targets for this scenario. */
  anchorTarget?: boolean;
}

const MAKE_1000 = `for i in $(seq 1000); do echo x > f$i; done`;
const MAKE_100 = `for i in $(seq 100); do echo "line $i of file $i" > f$i.txt; done`;
const MAKE_SED_100 = `i=0; while [ $i -lt 100 ]; do i=$((i+1)); seq 1 40 | sed "s/$/ foo $i/" > f$i.txt; done`;
const TREE_LEAVES = Array.from({ length: 1000 }, (_, i) => `d${Math.floor(i / 100)}/d${Math.floor(i / 10) % 10}/d${i % 10}`).join(" ");
const BIG = 64 * MiB;

const SCENARIOS: Scenario[] = [
  { id: "create", label: "create 1000 files", run: MAKE_1000, verify: ["ls | wc -l", "1000"], anchor: 6.7 },
  { id: "stat", label: "stat 1000 files", in: "create", setup: MAKE_1000, run: "stat f* > /dev/null", anchor: 1.49, anchorTarget: true },
  { id: "rm", label: "rm 1000 files", in: "create", setup: MAKE_1000, run: "rm f*", verify: ["ls | wc -l", "0"], anchor: 2.56 },
  { id: "mkdir", label: "mkdir tree 10x10x10", run: `mkdir -p ${TREE_LEAVES}`, verify: ["find . -type d | wc -l", "1111"], anchor: 1.01, anchorTarget: true },
  { id: "find", label: "find tree (1,111 dirs)", in: "mkdir", setup: `mkdir -p ${TREE_LEAVES}`, run: "find . | wc -l", expect: "1111", anchor: 1.0 },
  {
    id: "write",
    label: "write 64 MiB (dd bs=1M)",
    run: `dd if="$SRC/a$REP" of=big bs=1M status=none`,
    verify: [`cmp big "$SRC/a$REP" && echo same`, "same"],
    anchor: 4.87,
    anchorTarget: true,
  },
  { id: "read", label: "read 64 MiB (cat, 1st open)", in: "write", setup: `cp "$SRC/a$REP" big`, run: "cat big > /dev/null", anchor: 19.3, anchorTarget: true },
  { id: "reread", label: "re-read 64 MiB (cat, 2nd open)", in: "write", setup: `cp "$SRC/a$REP" big && cat big > /dev/null`, run: "cat big > /dev/null" },
  {
    id: "copy",
    label: "copy 64 MiB (cp)",
    in: "write",
    setup: `cp "$SRC/a$REP" big`,
    run: "cp big big2",
    verify: ["cmp big big2 && echo same", "same"],
    anchor: 27.8,
    anchorTarget: true,
  },
  {
    id: "overwrite",
    label: "overwrite 64 MiB in place",
    in: "write",
    setup: `cp "$SRC/a$REP" big`,
    run: `dd if="$SRC/b$REP" of=big bs=1M conv=notrunc status=none`,
    verify: [`cmp big "$SRC/b$REP" && echo same`, "same"],
    anchor: 32.9,
    anchorTarget: true,
  },
  {
    id: "git",
    label: "git init + commit 100 files",
    setup: MAKE_100,
    run: "git init -q && git add -A && git commit -qm bench",
    verify: ["git rev-list --count HEAD && git status --porcelain | wc -l", "1\n0"],
    anchor: 9.56,
  },
  { id: "tar", label: "tar x 500 files", run: `tar xf "$SRC/tree.tar"`, verify: ["find . -type f | wc -l", "500"] },
  { id: "sed", label: "sed -i 100 files", setup: MAKE_SED_100, run: "sed -i 's/foo/bar/' f*.txt", verify: ["cat f*.txt | grep -c bar", "4000"] },
  {
    id: "npm",
    label: "npm ci --offline (3 deps)",
    setup: `cp "$SRC/npm-project/package.json" "$SRC/npm-project/package-lock.json" .`,
    run: NPM_CI,
    verify: ["ls node_modules | wc -l", String(Object.keys(NPM_DEPS).length)],
    anchor: 3.6,
    anchorTarget: true,
  },
];

type TargetId = "tmpfs" | "disk" | "floor" | "wsd";
const TARGET_IDS: TargetId[] = ["tmpfs", "disk", "floor", "wsd"];

interface Sample {
  rep: number;
  ms: number;
  outerMs: number;
}
interface ScenarioResult {
  id: string;
  label: string;
  skipped?: string;
  samples: Record<TargetId, Sample[]>;
  /** Whose rep dirs it ran in (its own, or the scenario it follows). */
  dir?: string;
  /** wsd: ms from the end of each timed run until the workspace had all of it (files route). */
  drainMs: number[];
  /** wsd log lines "push failed" during the scenario; drain markers written again after one, or after a stall. */
  pushFailed: number;
  nudges: number;
  stalls: number;
  median: Partial<Record<TargetId, number>>;
  ratios: { wsdTmpfs?: number; floorTmpfs?: number; wsdFloor?: number; diskTmpfs?: number };
  anchor?: number;
  withinFloor?: boolean;
  beatsAnchor?: boolean;
  anchorTarget: boolean;
  problems: string[];
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (process.getuid?.() !== 0 || !existsSync("/dev/fuse")) throw new Error("needs root and /dev/fuse (it mounts FUSE filesystems)");
  const runStart = performance.now();
  const loadBefore = loadavg();
  const root = tempDir(tmpdir(), "root");
  const shm = tempDir("/dev/shm", "shm");
  const src = join(shm, "src");
  const home = join(root, "home");
  const libDir = join(root, "lib");
  for (const dir of [src, home, libDir]) mkdirSync(dir);
  symlinkSync(join(LIBFUSE_DIR, "lib", "libfuse.so"), join(libDir, "libfuse.so.2"));
  shellEnv = {
    // Node 22 first, so npm (and anything else) in the shells runs on it.
    PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
    HOME: home,
    LC_ALL: "C",
    SRC: src,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "bench",
    GIT_AUTHOR_EMAIL: "bench@example.com",
    GIT_COMMITTER_NAME: "bench",
    GIT_COMMITTER_EMAIL: "bench@example.com",
    // npm finds its global npmrc (here: the CA file for the registry) beside the node that runs
    // it; with Node 22 first on PATH that would be node_modules/node/etc. Keep the system's.
    NPM_CONFIG_GLOBALCONFIG: process.env.npm_config_globalconfig ?? (await run("npm", ["config", "get", "globalconfig"])).stdout.trim(),
  };

  log(`sources on tmpfs (${src})…`);
  let t = performance.now();
  for (let rep = 0; rep < REPS; rep++) {
    writeRandom(join(src, `a${rep}`), BIG);
    writeRandom(join(src, `b${rep}`), BIG);
  }
  await makeArchive(src, "tree", 500, 20, 200, 3000);
  await makeArchive(src, "resume", 3000, 100, 50, 400);
  const npmSkip = argv.includes("--no-npm") ? "--no-npm" : await prepareNpm(src);
  log(
    `  ${REPS * 2} random 64 MiB files, tree.tar (500 files), resume.tar (3,000 files)${npmSkip ? `; npm: skipped (${npmSkip})` : ", npm cache warm"} in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  log("starting wrangler dev…");
  t = performance.now();
  const starting = startDevServer({ persistTo: join(root, "state") });
  // A server that failed to start has nothing to stop; the failure itself is thrown below.
  cleanups.push(async () => (await starting.catch(() => undefined))?.stop());
  const server: DevServer = await starting;
  log(`  up at ${server.url} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const stamp = Date.now();
  const workspace = `bench-${stamp}`;
  const wsUrl = `${server.url}/w/${workspace}`;

  const floorMnt = join(root, "mnt-floor");
  const wsdMnt = join(root, "mnt-wsd");
  const floor = await startFloor(floorMnt, libDir);
  const wsd = await startWsd(wsUrl, wsdMnt, join(root, "cache-wsd"), WSD_ARGS);
  log(
    `  floor mounted in ${floor.startMs.toFixed(0)} ms, wsd in ${wsd.startMs.toFixed(0)} ms (${wsd.log().match(/wsd: (connected|resumed)[^\n]*/)?.[0] ?? "?"})`,
  );
  const targets: Record<TargetId, string> = { tmpfs: join(shm, "t"), disk: join(root, "t-disk"), floor: join(floorMnt, "t"), wsd: join(wsdMnt, "t") };
  await sh("/", TARGET_IDS.map((id) => `mkdir -p '${targets[id]}'`).join("\n"));

  const fileText = async (base: string, path: string): Promise<string | undefined> => {
    const response = await fetch(`${base}/files/${path}`);
    const body = await response.text();
    return response.ok ? body : undefined;
  };
  let drains = 0;
  const nudges = { afterFailure: 0, stalled: 0 };
  /**
   * Until the workspace has everything wsd committed so far: a marker written last, seen through
   * the files route. wsd retries a failed push only on its next local change, so when its log
   * shows a new "push failed" line while we wait (or nothing arrived for {@link STALL_MS}) the
   * marker is written again with a new value: a "nudge", counted and reported.
   */
  const drain = async (daemon: Daemon, base: string, mnt: string): Promise<number> => {
    const start = performance.now();
    const deadline = start + 120_000;
    let value = "";
    let written = 0;
    let failures = 0;
    const write = async (label: string) => {
      value = label;
      failures = pushFailures(daemon);
      await sh(mnt, `printf '%s\\n' ${label} > .bench-drain`);
      written = performance.now();
    };
    await write(String(++drains));
    while ((await fileText(base, ".bench-drain")) !== `${value}\n`) {
      if (performance.now() > deadline) throw new Error(`wsd did not push ${mnt}/.bench-drain within 120 s`);
      const failed = pushFailures(daemon) > failures;
      if (failed || performance.now() - written > STALL_MS) {
        nudges[failed ? "afterFailure" : "stalled"]++;
        await write(`${drains}.${nudges.afterFailure + nudges.stalled}`);
      }
      await sleep(5);
    }
    return performance.now() - start;
  };
  const elapsed = () => `${((performance.now() - runStart) / 1000).toFixed(0)} s`;

  // ---- scenarios ----
  const results: ScenarioResult[] = [];
  const selected = SCENARIOS.filter((scenario) => !ONLY || ONLY.includes(scenario.id));
  const ran = new Set<string>();
  for (const [index, scenario] of selected.entries()) {
    const result: ScenarioResult = {
      id: scenario.id,
      label: scenario.label,
      samples: { tmpfs: [], disk: [], floor: [], wsd: [] },
      drainMs: [],
      pushFailed: 0,
      nudges: 0,
      stalls: 0,
      median: {},
      ratios: {},
      anchor: scenario.anchor,
      anchorTarget: !!scenario.anchorTarget,
      problems: [],
    };
    results.push(result);
    if (scenario.id === "npm" && npmSkip) {
      result.skipped = npmSkip;
      continue;
    }
    // In the dirs an earlier scenario left, or in fresh ones.
    const base = scenario.in !== undefined && ran.has(scenario.in) ? scenario.in : scenario.id;
    ran.add(scenario.id);
    result.dir = base;
    log(`[${elapsed()}] ${scenario.label}…`);
    const before = { failed: pushFailures(wsd), ...nudges };
    for (let rep = 0; rep < REPS; rep++) {
      const env = { REP: String(rep) };
      const dirOf = (id: TargetId) => join(targets[id], `${base}-${rep}`);
      const setup = base === scenario.id ? scenario.setup : undefined;
      if (base === scenario.id) for (const id of TARGET_IDS) await sh("/", `mkdir '${dirOf(id)}'`);
      // wsd's setup first, so its pushes drain while the other targets set up.
      if (setup) await sh(dirOf("wsd"), setup, env);
      const draining = drain(wsd, wsUrl, wsdMnt);
      if (setup) for (const id of ["tmpfs", "disk", "floor"] as const) await sh(dirOf(id), setup, env);
      const setupDone = performance.now();
      await draining;
      // Let the kernel's FUSE attribute and entry caches (1 s) expire: a timed command on files
      // that already exist must ask the daemon, as it would for a tree it had not just made.
      if (setup || base !== scenario.id) await sleep(Math.max(0, setupDone + KERNEL_CACHE_MS + 100 - performance.now()));
      // Rotate the order per rep so no target always runs right after another's load.
      const order = TARGET_IDS.map((_, i) => TARGET_IDS[(i + rep) % TARGET_IDS.length]!);
      for (const id of order) {
        try {
          const timed = await timedSh(dirOf(id), scenario.run, env);
          if (scenario.expect !== undefined && timed.output !== scenario.expect)
            result.problems.push(`${id} rep ${rep}: output ${JSON.stringify(timed.output)}, expected ${JSON.stringify(scenario.expect)}`);
          result.samples[id].push({ rep, ms: timed.ms, outerMs: timed.outerMs });
          // Measured, and no other target's run overlaps wsd's pushes.
          if (id === "wsd") result.drainMs.push(await drain(wsd, wsUrl, wsdMnt));
          if (scenario.verify) {
            const { stdout } = await sh(dirOf(id), scenario.verify[0], env);
            if (stdout.trim() !== scenario.verify[1])
              result.problems.push(
                `${id} rep ${rep}: \`${scenario.verify[0]}\` gave ${JSON.stringify(stdout.trim())}, expected ${JSON.stringify(scenario.verify[1])}`,
              );
          }
        } catch (error) {
          result.problems.push(`${id} rep ${rep}: ${error instanceof Error ? error.message.split("\n").slice(0, 3).join(" | ") : String(error)}`);
        }
      }
    }
    // Keep memory and disk bounded (the floor and tmpfs hold everything in RAM) once no later
    // scenario works in these dirs; the next scenario's first drain waits for wsd to push it.
    if (!selected.slice(index + 1).some((later) => later.in === base)) {
      for (const id of TARGET_IDS) await sh(targets[id], `rm -rf ${base}-*`).catch((error) => result.problems.push(`cleanup ${id}: ${String(error)}`));
    }
    [result.pushFailed, result.nudges, result.stalls] = [
      pushFailures(wsd) - before.failed,
      nudges.afterFailure - before.afterFailure,
      nudges.stalled - before.stalled,
    ];
    for (const id of TARGET_IDS) if (result.samples[id].length) result.median[id] = median(result.samples[id].map((s) => s.ms));
    const { tmpfs: tm, disk: dk, floor: fl, wsd: ws } = result.median;
    const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
    result.ratios = { wsdTmpfs: ratio(ws, tm), floorTmpfs: ratio(fl, tm), wsdFloor: ratio(ws, fl), diskTmpfs: ratio(dk, tm) };
    if (result.ratios.wsdFloor !== undefined) result.withinFloor = result.ratios.wsdFloor <= 1.5;
    if (scenario.anchor !== undefined && result.ratios.wsdTmpfs !== undefined) result.beatsAnchor = result.ratios.wsdTmpfs < scenario.anchor;
    log(
      `  tmpfs ${fmtMs(tm)}, disk ${fmtMs(dk)}, floor ${fmtMs(fl)}, wsd ${fmtMs(ws)} (wsd÷floor ${fmtX(result.ratios.wsdFloor)}; drain ${fmtMs(result.drainMs.length ? median(result.drainMs) : undefined)}` +
        `${result.pushFailed || result.nudges || result.stalls ? `; ${result.pushFailed} "push failed" lines, ${result.nudges} nudges after a failure, ${result.stalls} after a stall` : ""})` +
        (result.problems.length ? `\n  problems: ${result.problems.join("; ")}` : ""),
    );
  }

  // ---- propagation latency ----
  let latency: LatencyResult | undefined;
  if (!argv.includes("--no-latency")) {
    log(`[${elapsed()}] propagation latency…`);
    const mcp = await connectMcp(server.url, workspace);
    cleanups.push(() => mcp.close());
    latency = await measureLatency(mcp, wsUrl, wsdMnt, fileText);
  }

  // ---- restart-resume ----
  let resume: ResumeResult | undefined;
  if (!argv.includes("--no-resume")) {
    log(`[${elapsed()}] restart-resume of a 3,000-file tree…`);
    resume = await measureResume(root, `${server.url}/w/bench-resume-${stamp}`, drain);
  }

  const wsdStop = await wsd.stop();
  await floor.stop();
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, loadavgBefore: loadBefore, loadavgAfter: loadavg() },
    reps: REPS,
    wsdLog: wsd
      .log()
      .split("\n")
      .filter((line) => /connected|resumed|conflict|failed|disconnected/.test(line))
      .slice(0, 20),
    wsdStopMs: wsdStop,
    scenarios: results,
    latency,
    resume,
    runSeconds: (performance.now() - runStart) / 1000,
  };
  if (JSON_OUTPUT) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else printReport(report);
}

// ---- latency -------------------------------------------------------------------------------------

interface LatencyVariant {
  id: string;
  label: string;
  /** ms from the start of the change to the moment the other side saw it. */
  e2e: Stats;
  /** The writer's own time: the MCP tool call, or open/write/close in the mount. */
  writer: Stats;
  /** e2e minus the writer's own time: what the sync added after the writer returned. */
  afterWriter: Stats;
  /** Polls per sample (watch in the mount) or GETs per sample (files route). */
  polls: Stats;
  timeouts: number;
  target?: { p50: number; p95: number; met: boolean };
}
interface LatencyResult {
  variants: LatencyVariant[];
  /** One GET of a small file through the files route (the resolution of mount → MCP samples). */
  getMs: Stats;
  /** `GET /w/<ws>/ping` (a no-op request into the workspace's object): the dev server's own cost, just before. */
  pingMs: Stats;
  pollIntervalMs: number;
  /** The MCP `exec` tool through this wsd, beside a `stat` tool call (the cost of any tool call). */
  exec: { statToolMs: Stats; trueMs: Stats; afterWriteMs: Stats };
}

const POLL_INTERVAL_MS = 1;

async function measureLatency(
  mcp: Client,
  wsUrl: string,
  mnt: string,
  fileText: (base: string, path: string) => Promise<string | undefined>,
): Promise<LatencyResult> {
  const child = spawn(process.execPath, ["--no-warnings", LATENCY_CHILD], { cwd: "/", stdio: ["pipe", "pipe", "inherit"] });
  cleanups.push(() => void child.kill("SIGKILL"));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const send = (command: object) => child.stdin!.write(`${JSON.stringify(command)}\n`);
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error("the latency child exited");
    return JSON.parse(value as string) as Record<string, number | string>;
  };
  const writeMcp = async (path: string, content: string) => {
    const result = (await mcp.callTool({ name: "write", arguments: { path, content } })) as { isError?: boolean; content: { text?: string }[] };
    if (result.isError) throw new Error(`write ${path}: ${result.content[0]?.text}`);
  };
  await sh(mnt, "mkdir -p lat");

  const variants: LatencyVariant[] = [];
  const getSamples: number[] = [];
  const pingSamples: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await (await fetch(`${wsUrl}/ping`)).arrayBuffer();
    pingSamples.push(performance.now() - t);
  }

  /** MCP → mount: a `write` tool call, seen by the child reading the file in the mount. */
  const down = async (id: string, label: string, n: number, sample: (i: number) => { path: string; content: string }, target: boolean) => {
    const e2e: number[] = [],
      writer: number[] = [],
      after: number[] = [],
      polls: number[] = [];
    let timeouts = 0;
    for (let i = 0; i < n; i++) {
      const { path, content } = sample(i);
      send({ op: "watch", path: join(mnt, path), content, timeoutMs: 5000, intervalMs: POLL_INTERVAL_MS });
      await next(); // ready: the child is polling
      await sleep(20); // a few polls of the old state first
      const t0 = wall();
      await writeMcp(`/${path}`, content);
      const t1 = wall();
      const seen = await next();
      if (typeof seen.seen !== "number") {
        timeouts++;
        continue;
      }
      e2e.push(seen.seen - t0);
      writer.push(t1 - t0);
      after.push(seen.seen - t1);
      polls.push(Number(seen.polls));
      await sleep(50);
    }
    variants.push({
      id,
      label,
      e2e: stats(e2e),
      writer: stats(writer),
      afterWriter: stats(after),
      polls: stats(polls),
      timeouts,
      ...(target ? { target: { p50: 50, p95: 200, met: stats(e2e).p50 < 50 && stats(e2e).p95 < 200 && timeouts === 0 } } : {}),
    });
    log(
      `  ${label}: p50 ${stats(e2e).p50.toFixed(1)} ms, p95 ${stats(e2e).p95.toFixed(1)} ms (tool call p50 ${stats(writer).p50.toFixed(1)} ms)${timeouts ? `, ${timeouts} timeouts` : ""}`,
    );
  };

  /** mount → MCP: the child writes and closes a file in the mount; GET /files polls until it shows. */
  const up = async (id: string, label: string, n: number, sample: (i: number) => { path: string; content: string }) => {
    const e2e: number[] = [],
      writer: number[] = [],
      after: number[] = [],
      polls: number[] = [];
    let timeouts = 0;
    for (let i = 0; i < n; i++) {
      const { path, content } = sample(i);
      send({ op: "write", path: join(mnt, path), content });
      const written = await next();
      const [start, closed] = [Number(written.start), Number(written.closed)];
      let gets = 0;
      let seenAt: number | undefined;
      while (wall() - closed < 5000) {
        const g = performance.now();
        const text = await fileText(wsUrl, path);
        getSamples.push(performance.now() - g);
        gets++;
        if (text === content) {
          seenAt = wall();
          break;
        }
      }
      if (seenAt === undefined) {
        timeouts++;
        continue;
      }
      e2e.push(seenAt - start);
      writer.push(closed - start);
      after.push(seenAt - closed);
      polls.push(gets);
      await sleep(50);
    }
    variants.push({
      id,
      label,
      e2e: stats(e2e),
      writer: stats(writer),
      afterWriter: stats(after),
      polls: stats(polls),
      timeouts,
      target: { p50: 50, p95: 200, met: stats(e2e).p50 < 50 && stats(e2e).p95 < 200 && timeouts === 0 },
    });
    log(
      `  ${label}: p50 ${stats(e2e).p50.toFixed(1)} ms, p95 ${stats(e2e).p95.toFixed(1)} ms (write+close p50 ${stats(writer).p50.toFixed(1)} ms)${timeouts ? `, ${timeouts} timeouts` : ""}`,
    );
  };

  const pad = (i: number) => String(i).padStart(4, "0");
  // Warm: the file exists and the child has read it (its page cache holds the old content).
  await writeMcp("/lat/down.txt", "sample init\n");
  send({ op: "watch", path: join(mnt, "lat/down.txt"), content: "sample init\n", timeoutMs: 5000 });
  await next();
  await next();
  await down("mcp-to-mount-rewrite", "MCP → mount, rewrite (same size)", 30, (i) => ({ path: "lat/down.txt", content: `sample ${pad(i)}\n` }), true);
  await down("mcp-to-mount-new", "MCP → mount, new file", 30, (i) => ({ path: `lat/new-${pad(i)}.txt`, content: `new ${pad(i)}\n` }), true);
  await writeMcp("/lat/grow.txt", "g\n");
  send({ op: "watch", path: join(mnt, "lat/grow.txt"), content: "g\n", timeoutMs: 5000 });
  await next();
  await next();
  await down("mcp-to-mount-grow", "MCP → mount, rewrite (grows)", 10, (i) => ({ path: "lat/grow.txt", content: `${"g".repeat(i + 2)}\n` }), false);
  await sh(mnt, "echo 'up init' > lat/up.txt");
  await up("mount-to-mcp-rewrite", "mount → files route, rewrite", 30, (i) => ({ path: "lat/up.txt", content: `up ${pad(i)}\n` }));
  await up("mount-to-mcp-new", "mount → files route, new file", 30, (i) => ({ path: `lat/up-new-${pad(i)}.txt`, content: `up new ${pad(i)}\n` }));
  child.stdin!.end();
  return { variants, getMs: stats(getSamples), pingMs: stats(pingSamples), pollIntervalMs: POLL_INTERVAL_MS, exec: await measureExec(mcp) };
}

/**
 * exec through MCP: `true` (the round trip to the sandbox and both barriers with nothing to
 * sync), and `cat` of a file an MCP write made just before (the barrier pulls it and outwaits the
 * kernel's attribute cache), each beside a plain `stat` tool call.
 */
async function measureExec(mcp: Client): Promise<LatencyResult["exec"]> {
  const call = async (name: string, args: Record<string, unknown>) => {
    const t = performance.now();
    const result = (await mcp.callTool({ name, arguments: args })) as {
      isError?: boolean;
      content: { text?: string }[];
      structuredContent?: { stdout?: string };
    };
    if (result.isError) throw new Error(`${name}: ${result.content[0]?.text}`);
    return { ms: performance.now() - t, stdout: result.structuredContent?.stdout };
  };
  const statMs: number[] = [],
    trueMs: number[] = [],
    afterWriteMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    statMs.push((await call("stat", { path: "/lat" })).ms);
    trueMs.push((await call("exec", { command: "true" })).ms);
  }
  for (let i = 0; i < 10; i++) {
    const content = `written just before exec ${i}\n`;
    await call("write", { path: `/lat/exec-${i}.txt`, content });
    const { ms, stdout } = await call("exec", { command: `cat lat/exec-${i}.txt` });
    if (stdout !== content) throw new Error(`exec saw ${JSON.stringify(stdout)}, not the write before it`);
    afterWriteMs.push(ms);
  }
  const result = { statToolMs: stats(statMs), trueMs: stats(trueMs), afterWriteMs: stats(afterWriteMs) };
  log(
    `  exec true p50 ${result.trueMs.p50.toFixed(1)} ms (stat tool ${result.statToolMs.p50.toFixed(1)} ms); exec right after a write p50 ${result.afterWriteMs.p50.toFixed(1)} ms`,
  );
  return result;
}

// ---- restart-resume ------------------------------------------------------------------------------

interface StartSample {
  ms: number;
  chunksFetched?: number;
  line?: string;
}
interface ResumeResult {
  files: number;
  /** Node + imports of wsd, no mount: `wsd --help`. */
  processMs: Stats;
  emptyColdMs: number;
  tarMs: number;
  drainMs: number;
  stopMs: number[];
  resume: StartSample[];
  cold: StartSample[];
  problems: string[];
}

async function measureResume(root: string, url: string, drain: (daemon: Daemon, base: string, mnt: string) => Promise<number>): Promise<ResumeResult> {
  const mnt = join(root, "mnt-resume");
  const cache = join(root, "cache-resume");
  const problems: string[] = [];
  const parse = (daemon: Daemon): StartSample => {
    const line = daemon.log().match(/wsd: (?:connected to|resumed)[^\n]*/)?.[0];
    const chunks = line?.match(/\((\d+) chunks fetched/)?.[1];
    return { ms: daemon.startMs, chunksFetched: chunks === undefined ? undefined : Number(chunks), line };
  };
  const processMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await run(process.execPath, ["--no-warnings", WSD_BIN, "--help"]);
    processMs.push(performance.now() - t);
  }
  const first = await startWsd(url, mnt, cache);
  const emptyColdMs = first.startMs;
  const tar = await timedSh(mnt, `mkdir tree && cd tree && tar xf "$SRC/resume.tar"`);
  const drainMs = await drain(first, url, mnt);
  const count = async (dir: string) => (await sh(dir, "find tree -type f | wc -l")).stdout.trim();
  const files = Number(await count(mnt));
  if (files !== 3000) problems.push(`the tree has ${files} files, expected 3000`);
  log(`  empty-workspace cold start ${emptyColdMs.toFixed(0)} ms; tar x of 3,000 files ${tar.ms.toFixed(0)} ms, pushed ${drainMs.toFixed(0)} ms later`);
  const stopMs = [await first.stop()];
  const resume: StartSample[] = [];
  for (let i = 0; i < REPS; i++) {
    const daemon = await startWsd(url, mnt, cache);
    resume.push(parse(daemon));
    if (i === 0 && (await count(mnt)) !== "3000") problems.push("the resumed mount does not show 3,000 files");
    stopMs.push(await daemon.stop());
  }
  const cold: StartSample[] = [];
  for (let i = 0; i < REPS; i++) {
    const coldCache = join(root, `cache-cold-${i}`);
    const daemon = await startWsd(url, join(root, `mnt-cold-${i}`), coldCache);
    cold.push(parse(daemon));
    if (i === 0 && (await count(join(root, `mnt-cold-${i}`))) !== "3000") problems.push("the cold mount does not show 3,000 files");
    stopMs.push(await daemon.stop());
    rmSync(coldCache, { recursive: true, force: true });
  }
  for (const sample of resume) if (sample.chunksFetched !== 0) problems.push(`a resume fetched ${sample.chunksFetched} chunks: ${sample.line}`);
  log(
    `  resume ${resume.map((s) => s.ms.toFixed(0)).join(", ")} ms (${resume.map((s) => s.chunksFetched).join(", ")} chunks fetched); cold ${cold.map((s) => s.ms.toFixed(0)).join(", ")} ms (${cold.map((s) => s.chunksFetched).join(", ")} chunks)`,
  );
  return { files, processMs: stats(processMs), emptyColdMs, tarMs: tar.ms, drainMs, stopMs, resume, cold, problems };
}

// ---- output --------------------------------------------------------------------------------------

function fmtMs(ms: number | undefined): string {
  if (ms === undefined) return "—";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}
const fmtX = (x: number | undefined) => (x === undefined ? "—" : `${x < 10 ? x.toFixed(2) : x.toFixed(1)}x`);
const yesNo = (value: boolean | undefined) => (value === undefined ? "—" : value ? "yes" : "**no**");

function printReport(report: {
  date: string;
  machine: { cpus: number; cpuModel?: string; node: string; loadavgBefore: number[]; loadavgAfter: number[] };
  reps: number;
  scenarios: ScenarioResult[];
  latency?: LatencyResult;
  resume?: ResumeResult;
  runSeconds: number;
  wsdLog: string[];
}): void {
  const out: string[] = [];
  const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
  out.push(
    `Mount benchmark, ${report.date.slice(0, 10)}: ${report.machine.cpus} vCPU (${report.machine.cpuModel}), Node ${report.machine.node}, load average ${la(report.machine.loadavgBefore)} before, ${la(report.machine.loadavgAfter)} after; median of ${report.reps}, times inside the shell${WSD_ARGS.length ? `; wsd ${WSD_ARGS.join(" ")}` : ""}`,
  );
  out.push("");
  out.push(
    "| scenario | tmpfs | disk | floor | wsd | wsd÷tmpfs | floor÷tmpfs | wsd÷floor | disk÷tmpfs | anchor | wsd ≤ 1.5x floor | beats anchor | wsd sync drain |",
  );
  out.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|");
  for (const r of report.scenarios) {
    if (r.skipped) {
      out.push(`| ${r.label} | skipped: ${r.skipped} |||||||||||`);
      continue;
    }
    const m = r.median;
    const anchorCell = r.anchor === undefined ? "—" : `${r.anchor}x`;
    const beats = r.anchor === undefined ? "—" : `${yesNo(r.beatsAnchor)}${r.anchorTarget ? "" : " (no target)"}`;
    out.push(
      `| ${r.label} | ${fmtMs(m.tmpfs)} | ${fmtMs(m.disk)} | ${fmtMs(m.floor)} | ${fmtMs(m.wsd)} | ${fmtX(r.ratios.wsdTmpfs)} | ${fmtX(r.ratios.floorTmpfs)} | ${fmtX(r.ratios.wsdFloor)} | ${fmtX(r.ratios.diskTmpfs)} | ${anchorCell} | ${yesNo(r.withinFloor)} | ${beats} | ${fmtMs(r.drainMs.length ? median(r.drainMs) : undefined)} |`,
    );
  }
  const problems = report.scenarios.flatMap((r) => r.problems.map((p) => `${r.id}: ${p}`));
  for (const r of report.scenarios) {
    if (r.pushFailed || r.nudges || r.stalls)
      problems.push(
        `${r.id}: wsd logged ${r.pushFailed} "push failed" lines; the drain marker had to be written again ${r.nudges} time(s) after a failed push and ${r.stalls} time(s) after ${STALL_MS / 1000} s without progress before the workspace caught up`,
      );
  }
  if (problems.length) out.push("", "Problems:", ...problems.map((p) => `- ${p}`));
  if (report.latency) {
    const l = report.latency;
    out.push(
      "",
      `Propagation latency (ms; the mount polled every ${l.pollIntervalMs} ms; one files-route GET p50 ${l.getMs.p50.toFixed(1)} ms, GET /ping p50 ${l.pingMs.p50.toFixed(1)} ms):`,
      "",
    );
    out.push("| direction | n | p50 | p95 | max | writer's own p50 | after writer p50 | target p50 < 50, p95 < 200 |");
    out.push("|---|---:|---:|---:|---:|---:|---:|---|");
    for (const v of l.variants) {
      out.push(
        `| ${v.label} | ${v.e2e.n}${v.timeouts ? ` (+${v.timeouts} timeouts)` : ""} | ${v.e2e.p50.toFixed(1)} | ${v.e2e.p95.toFixed(1)} | ${v.e2e.max.toFixed(1)} | ${v.writer.p50.toFixed(1)} | ${v.afterWriter.p50.toFixed(1)} | ${v.target ? yesNo(v.target.met) : "—"} |`,
      );
    }
    const e = l.exec;
    out.push("", "The MCP exec tool (ms, p50 / p95):", "");
    out.push("| call | n | p50 | p95 |", "|---|---:|---:|---:|");
    out.push(`| \`stat\` tool (any tool call's cost) | ${e.statToolMs.n} | ${e.statToolMs.p50.toFixed(1)} | ${e.statToolMs.p95.toFixed(1)} |`);
    out.push(`| \`exec true\` | ${e.trueMs.n} | ${e.trueMs.p50.toFixed(1)} | ${e.trueMs.p95.toFixed(1)} |`);
    out.push(
      `| \`exec cat\` of a file written by MCP just before | ${e.afterWriteMs.n} | ${e.afterWriteMs.p50.toFixed(1)} | ${e.afterWriteMs.p95.toFixed(1)} |`,
    );
  }
  if (report.resume) {
    const r = report.resume;
    const startCell = (s: StartSample[]) =>
      `${fmtMs(median(s.map((x) => x.ms)))} (${s.map((x) => x.ms.toFixed(0)).join(", ")}); chunks fetched ${s.map((x) => x.chunksFetched ?? "?").join(", ")}`;
    out.push("", `Restart-resume, ${r.files} files:`, "");
    out.push(`- resume from its cache (spawn → "wsd: mounted"): ${startCell(r.resume)}`);
    out.push(`- cold start, empty cache: ${startCell(r.cold)}`);
    out.push(
      `- for scale: cold start of the empty workspace ${fmtMs(r.emptyColdMs)}; \`wsd --help\` (Node + imports) p50 ${fmtMs(r.processMs.p50)}; stop (SIGTERM → exit) p50 ${fmtMs(median(r.stopMs))}`,
    );
    out.push(`- tar x of the 3,000 files in the mount ${fmtMs(r.tarMs)}, in the workspace ${fmtMs(r.drainMs)} after that`);
    for (const p of r.problems) out.push(`- problem: ${p}`);
  }
  out.push("", `Run took ${report.runSeconds.toFixed(0)} s.`);
  process.stdout.write(`${out.join("\n")}\n`);
}

try {
  await main();
} catch (error) {
  log(`mount bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
