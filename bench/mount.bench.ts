/**
 * The mount: shell workloads on a real `wsd mount` of a fresh workspace (a local `wrangler dev`),
 * side by side in one run with tmpfs, plain disk, the bare in-memory FUSE daemon
 * (`/work/shared/tools/fuse-floor.cjs`, "the floor", mounted with wsd's options) and the reference
 * daemon (`/work/shared/tools/computerd/`, Cloudflare's computerd: an in-memory tree, no durability). Then the
 * propagation latency both ways (MCP → mount, mount → files route) and the restart-resume time
 * of a 3,000-file tree. See bench/README.md ("The mount (wsd) against tmpfs and the floor").
 *
 *   npm run bench:mount            # table on stdout, progress on stderr (~4.5 min)
 *   npm run bench:mount -- --json  # machine-readable results on stdout
 *   options: --reps N (default 3), --only id,id (scenario ids), --no-npm, --no-latency, --no-resume,
 *            --wsd-args "ARGS" (extra `wsd mount` arguments for the measured mount, e.g. "--attr-timeout 0"),
 *            --pin (the local server on CPU 0, everything else on CPU 1: fair to a server that is remote)
 *
 * Needs root and /dev/fuse. Every scenario runs as `sh -ec` in a child process, in a fresh
 * subdirectory per repetition; the time is taken inside that shell (`date +%s%N` before and after
 * the command), so it holds no process-spawn cost of this Node process.
 */
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { connectMcp, type DevServer, startDevServer } from "../harness/dev-server.ts";
import { writeRatioChart } from "./chart.ts";
import { type LatencyResult, measureLatency } from "./mount/latency.ts";
import { measureLookupsDuringPush, type PushLookups } from "./mount/lookups-during-push.ts";
import { argv, JSON_OUTPUT, KERNEL_CACHE_MS, LIBFUSE_DIR, log, ONLY, PIN, PROJECT, REPS, STALL_MS, WSD_ARGS } from "./mount/options.ts";
import {
  cleanup,
  cleanups,
  type Daemon,
  npmShellEnv,
  pinServerApart,
  pushFailures,
  setShellEnv,
  sh,
  sleep,
  startComputerd,
  startFloor,
  startWsd,
  tempDir,
  timedSh,
} from "./mount/processes.ts";
import { fmtMs, fmtX, printReport } from "./mount/report.ts";
import { measureResume, type ResumeResult } from "./mount/resume.ts";
import { BIG, SCENARIOS, type ScenarioResult, TARGET_IDS, type TargetId } from "./mount/scenarios.ts";
import { makeArchive, prepareNpm, writeRandom } from "./mount/sources.ts";
import { median } from "./mount/stats.ts";

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
  setShellEnv({
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
    // it; with Node 22 first on PATH that would be node_modules/node/etc (see npmShellEnv).
    ...(await npmShellEnv()),
  });

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
  if (PIN) {
    await pinServerApart();
    log("  pinned: wrangler and workerd on CPU 0; this process, the daemons and the shells on CPU 1");
  }
  const stamp = Date.now();
  const workspace = `bench-${stamp}`;
  const wsUrl = `${server.url}/w/${workspace}`;

  const floorMnt = join(root, "mnt-floor");
  const computerdMnt = join(root, "mnt-computerd");
  const wsdMnt = join(root, "mnt-wsd");
  const floor = await startFloor(floorMnt, libDir);
  const computerd = await startComputerd(computerdMnt, libDir);
  const wsd = await startWsd(wsUrl, wsdMnt, join(root, "cache-wsd"), WSD_ARGS);
  log(
    `  floor mounted in ${floor.startMs.toFixed(0)} ms, computerd in ${computerd.startMs.toFixed(0)} ms, wsd in ${wsd.startMs.toFixed(0)} ms (${wsd.log().match(/wsd: (connected|resumed)[^\n]*/)?.[0] ?? "?"})`,
  );
  const targets: Record<TargetId, string> = {
    tmpfs: join(shm, "t"),
    disk: join(root, "t-disk"),
    floor: join(floorMnt, "t"),
    computerd: join(computerdMnt, "t"),
    wsd: join(wsdMnt, "t"),
  };
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
      samples: { tmpfs: [], disk: [], floor: [], computerd: [], wsd: [] },
      drainMs: [],
      pushFailed: 0,
      nudges: 0,
      stalls: 0,
      median: {},
      ratios: {},
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
      if (setup) for (const id of ["tmpfs", "disk", "floor", "computerd"] as const) await sh(dirOf(id), setup, env);
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
    const { tmpfs: tm, disk: dk, floor: fl, computerd: cd, wsd: ws } = result.median;
    const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
    result.ratios = {
      wsdTmpfs: ratio(ws, tm),
      floorTmpfs: ratio(fl, tm),
      wsdFloor: ratio(ws, fl),
      diskTmpfs: ratio(dk, tm),
      wsdComputerd: ratio(ws, cd),
      computerdFloor: ratio(cd, fl),
    };
    log(
      `  tmpfs ${fmtMs(tm)}, disk ${fmtMs(dk)}, floor ${fmtMs(fl)}, computerd ${fmtMs(cd)}, wsd ${fmtMs(ws)} (wsd÷computerd ${fmtX(result.ratios.wsdComputerd)}, wsd÷floor ${fmtX(result.ratios.wsdFloor)}; drain ${fmtMs(result.drainMs.length ? median(result.drainMs) : undefined)}` +
        `${result.pushFailed || result.nudges || result.stalls ? `; ${result.pushFailed} "push failed" lines, ${result.nudges} nudges after a failure, ${result.stalls} after a stall` : ""})` +
        (result.problems.length ? `\n  problems: ${result.problems.join("; ")}` : ""),
    );
  }

  // ---- propagation latency ----
  let latency: LatencyResult | undefined;
  let pushLookups: PushLookups | undefined;
  if (!argv.includes("--no-latency")) {
    log(`[${elapsed()}] propagation latency…`);
    const mcp = await connectMcp(server.url, workspace);
    cleanups.push(() => mcp.close());
    latency = await measureLatency(mcp, wsUrl, wsdMnt, fileText);
    log(`[${elapsed()}] lookups in the mount while a 64 MiB push is under way…`);
    pushLookups = await measureLookupsDuringPush(wsdMnt, src, () => drain(wsd, wsUrl, wsdMnt));
  }

  // ---- restart-resume ----
  let resume: ResumeResult | undefined;
  if (!argv.includes("--no-resume")) {
    log(`[${elapsed()}] restart-resume of a 3,000-file tree…`);
    resume = await measureResume(root, `${server.url}/w/bench-resume-${stamp}`, drain);
  }

  const wsdStop = await wsd.stop();
  await floor.stop();
  await computerd.stop();
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, loadavgBefore: loadBefore, loadavgAfter: loadavg() },
    reps: REPS,
    pinned: PIN,
    wsdLog: wsd
      .log()
      .split("\n")
      .filter((line) => /connected|resumed|conflict|failed|disconnected/.test(line))
      .slice(0, 20),
    wsdStopMs: wsdStop,
    scenarios: results,
    latency,
    pushLookups,
    resume,
    runSeconds: (performance.now() - runStart) / 1000,
  };
  if (JSON_OUTPUT) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    printReport(report);
    writeRatioChart(join(PROJECT, "bench/charts/mount.svg"), {
      title: "The mount: wsd ÷ computerd, ÷ the floor daemon, ÷ tmpfs (median; left of 1x is faster)",
      note: `${report.date.slice(0, 10)}, ${report.machine.cpus} vCPU${report.pinned ? ", pinned (the server on its own CPU)" : ""} (npm run bench:mount)`,
      series: ["wsd ÷ computerd", "wsd ÷ floor", "wsd ÷ tmpfs"],
      rows: report.scenarios
        .filter((scenario) => !scenario.skipped)
        .map((scenario) => ({ label: scenario.label, values: [scenario.ratios.wsdComputerd, scenario.ratios.wsdFloor, scenario.ratios.wsdTmpfs] })),
    });
  }
}

try {
  await main();
} catch (error) {
  log(`mount bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
