/**
 * The mount at scale, side by side in one run: a big-tree copy (a real node_modules, 25,000+
 * files) into tmpfs, the floor, computerd and wsd, with the time until the workspace has it and
 * wsd's peak memory; `npm install` of a real project with and without a local-only
 * `node_modules/`; the replica's size under a burst of rewrites of one small file; and the cold
 * mount of a 10,000-file, 1 GB workspace. See bench/README.md ("The mount at scale").
 *
 *   npm run bench:mount-scale                 # table on stdout, progress on stderr (~6 min)
 *   options: --only bigtree,npm,burst,cold   --pin (the server on CPU 0, the rest on CPU 1)
 *
 * Needs root and /dev/fuse. One repetition each (the copies take a minute apiece): read the
 * numbers with the noise of bench/README.md in mind.
 */
import { readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type DevServer, startDevServer } from "../harness/dev-server.ts";
import { DEFAULT_TIMING } from "../src/wsd/timing.ts";
import { LIBFUSE_DIR, log, MiB, ONLY, PIN, PROJECT } from "./mount/options.ts";
import {
  cleanup,
  cleanups,
  type Daemon,
  npmShellEnv,
  pinServerApart,
  run,
  setShellEnv,
  sh,
  sleep,
  startComputerd,
  startFloor,
  startWsd,
  tempDir,
  timedSh,
} from "./mount/processes.ts";
import { fmtMs } from "./mount/report.ts";

const wanted = (id: string) => !ONLY || ONLY.includes(id);
/** A shell step of this bench may take minutes. */
const LONG = 900_000;

/** A daemon's peak resident memory (VmHWM), in MiB. */
const peakRssMiB = (daemon: Daemon) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${daemon.child.pid}/status`, "utf8"))![1]) / 1024;

/** Bytes of the replica's files (database and WAL) in a cache directory. */
const replicaBytes = (cache: string) =>
  readdirSync(cache)
    .filter((name) => name.startsWith("replica.db"))
    .reduce((sum, name) => sum + statSync(join(cache, name)).size, 0);

async function main(): Promise<void> {
  const root = tempDir(tmpdir(), "scale");
  const shm = tempDir("/dev/shm", "scale-shm");
  const libDir = join(root, "lib");
  await sh("/", `mkdir -p '${libDir}' '${join(root, "home")}'`);
  symlinkSync(join(LIBFUSE_DIR, "lib", "libfuse.so"), join(libDir, "libfuse.so.2"));
  // npm's own cache (warm from installing this repository) and global config (the registry's CA).
  setShellEnv({
    PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
    HOME: join(root, "home"),
    LC_ALL: "C",
    NPM_CONFIG_CACHE: (await run("npm", ["config", "get", "cache"])).stdout.trim(),
    ...(await npmShellEnv()),
  });

  log("starting wrangler dev…");
  const server: DevServer = await startDevServer({ persistTo: join(root, "state") });
  cleanups.push(() => server.stop());
  if (PIN) await pinServerApart();
  const stamp = Date.now();
  const url = (name: string) => `${server.url}/w/${name}-${stamp}`;
  /** Until the workspace has everything wsd committed: a marker written last, read back through the files route. */
  const drain = async (base: string, mnt: string) => {
    const start = performance.now();
    const value = String(Math.random());
    await sh(mnt, `printf '%s' ${value} > .drain`);
    while ((await (await fetch(`${base}/files/.drain`)).text()) !== value) {
      if (performance.now() - start > 600_000) throw new Error(`${mnt} did not drain in 10 min`);
      await sleep(20);
    }
    return performance.now() - start;
  };
  const out: string[] = [`Mount at scale, ${new Date().toISOString().slice(0, 10)}, ${PIN ? "pinned (server on CPU 0)" : "unpinned"}, one run each`, ""];

  if (wanted("bigtree")) {
    const sources = [join(PROJECT, "node_modules"), "/usr/lib/node_modules/npm"];
    const files = Number((await sh("/", `find ${sources.join(" ")} -type f | wc -l`)).stdout.trim());
    const bytes = Number((await sh("/", `du -sb ${sources.join(" ")} | awk '{s+=$1} END {print s}'`)).stdout.trim());
    await sh("/", `tar cf - ${sources.join(" ")} > /dev/null 2>&1`); // warm the page cache
    log(`big tree: ${files} files, ${(bytes / MiB).toFixed(0)} MiB (this repository's node_modules and npm's)`);
    const floor = await startFloor(join(root, "mnt-floor"), libDir);
    const computerd = await startComputerd(join(root, "mnt-computerd"), libDir);
    const wsd = await startWsd(url("bigtree"), join(root, "mnt-wsd"), join(root, "cache-bigtree"));
    const targets: [string, string, Daemon | undefined][] = [
      ["tmpfs", join(shm, "bigtree"), undefined],
      ["floor", join(root, "mnt-floor"), floor],
      ["computerd", join(root, "mnt-computerd"), computerd],
      ["wsd", join(root, "mnt-wsd"), wsd],
    ];
    out.push(`Big-tree copy: \`cp -r\` of ${files.toLocaleString("en")} files, ${(bytes / MiB).toFixed(0)} MiB`, "");
    out.push("| target | cp -r | ÷ computerd | until the workspace has it | peak RSS |", "|---|---:|---:|---:|---:|");
    const times = new Map<string, number>();
    for (const [id, dir, daemon] of targets) {
      await sh("/", `mkdir -p '${dir}/copy'`);
      const timed = await timedSh(dir, `cp -r ${sources.join(" ")} copy/`, {}, LONG);
      times.set(id, timed.ms);
      const copied = Number((await sh(dir, "find copy -type f | wc -l")).stdout.trim());
      const drained = id === "wsd" ? await drain(url("bigtree"), dir) : undefined;
      const rss = daemon ? `${peakRssMiB(daemon).toFixed(0)} MiB` : "—";
      const versus = times.get("computerd") ? `${(timed.ms / times.get("computerd")!).toFixed(2)}x` : "—";
      out.push(
        `| ${id} | ${fmtMs(timed.ms)}${copied === files ? "" : ` (${copied} files!)`} | ${id === "tmpfs" || id === "floor" ? "—" : versus} | ${fmtMs(drained)} | ${rss} |`,
      );
      log(`  ${id}: ${fmtMs(timed.ms)}${drained === undefined ? "" : `, in the workspace ${fmtMs(drained)} later`}, ${rss}`);
      if (id !== "wsd") await sh(dir, "rm -rf copy");
    }
    out.push("");
    await Promise.all([floor.stop(), computerd.stop(), wsd.stop()]);
  }

  if (wanted("npm")) {
    // The runtime dependencies of this package, at the versions installed here (in npm's cache).
    const version = (name: string) => JSON.parse(readFileSync(join(PROJECT, "node_modules", name, "package.json"), "utf8")).version as string;
    const dependencies = Object.fromEntries(["@modelcontextprotocol/sdk", "zod", "capnweb", "ignore"].map((name) => [name, version(name)]));
    const install = "npm install --prefer-offline --no-audit --no-fund --no-update-notifier --loglevel=error";
    const computerd = await startComputerd(join(root, "mnt-npm-computerd"), libDir);
    const plain = await startWsd(url("npm"), join(root, "mnt-npm"), join(root, "cache-npm"));
    const local = await startWsd(url("npm-local"), join(root, "mnt-npm-local"), join(root, "cache-npm-local"), ["--local", "node_modules/"]);
    out.push(`\`npm install\` of ${Object.keys(dependencies).join(", ")} (npm's cache warm)`, "");
    out.push("| target | in the mount | until the workspace has it | files in the workspace |", "|---|---:|---:|---:|");
    for (const [id, dir, workspace] of [
      ["computerd", join(root, "mnt-npm-computerd"), undefined],
      ["wsd", join(root, "mnt-npm"), url("npm")],
      ["wsd --local node_modules/", join(root, "mnt-npm-local"), url("npm-local")],
    ] as const) {
      writeFileSync(join(shm, "package.json"), JSON.stringify({ name: "scale", version: "1.0.0", private: true, dependencies }));
      await sh(dir, `cp '${join(shm, "package.json")}' .`);
      const timed = await timedSh(dir, install, {}, LONG);
      const drained = workspace ? await drain(workspace, dir) : undefined;
      const inWorkspace = workspace ? (await fetch(`${workspace}/files/node_modules/`)).status === 200 : undefined;
      const count = Number((await sh(dir, "find node_modules -type f | wc -l")).stdout.trim());
      out.push(
        `| ${id} | ${fmtMs(timed.ms)} | ${fmtMs(drained)} | ${inWorkspace === undefined ? "—" : inWorkspace ? `${count.toLocaleString("en")} (node_modules)` : "package files only"} |`,
      );
      log(`  npm ${id}: ${fmtMs(timed.ms)}, drained ${fmtMs(drained)}`);
    }
    out.push("");
    await Promise.all([computerd.stop(), plain.stop(), local.stop()]);
  }

  if (wanted("burst")) {
    const cache = join(root, "cache-burst");
    const mnt = join(root, "mnt-burst");
    const wsd = await startWsd(url("burst"), mnt, cache);
    await sh(mnt, "head -c 245760 /dev/urandom > hot.bin");
    await drain(url("burst"), mnt);
    const before = replicaBytes(cache);
    // 20,000 writes of 1–4 KiB at random places, reopening every 20 (each close commits and pushes).
    const burst = await timedSh(
      mnt,
      `perl -e 'srand(1); for my $i (0..999) { open(my $f, "+<", "hot.bin") or die; for (1..20) { seek($f, int(rand(240000)), 0); print $f chr(65 + $i % 26) x (1024 + int(rand(3072))); } close($f); }'`,
      {},
      LONG,
    );
    const afterBurst = replicaBytes(cache);
    const drained = await drain(url("burst"), mnt);
    await sleep(4000); // the quiet period (2 s) and housekeeping
    const settled = replicaBytes(cache);
    await sleep(DEFAULT_TIMING.walReleaseMs); // the mount at rest: the WAL kept for the next writes goes back
    const rested = replicaBytes(cache);
    out.push(
      "Rewrite burst: 20,000 writes (1–4 KiB, random places) to a 240 KiB file, reopened every 20",
      "",
      "| | replica (database and WAL) |",
      "|---|---:|",
      `| before | ${(before / MiB).toFixed(1)} MiB |`,
      `| right after the burst (${fmtMs(burst.ms)}) | ${(afterBurst / MiB).toFixed(1)} MiB |`,
      `| after the workspace had it (${fmtMs(drained)}) and a quiet period | ${(settled / MiB).toFixed(1)} MiB |`,
      `| after the mount rested ${DEFAULT_TIMING.walReleaseMs / 1000} s more | ${(rested / MiB).toFixed(1)} MiB |`,
      "",
    );
    log(`  burst: replica ${(before / MiB).toFixed(1)} → ${(afterBurst / MiB).toFixed(1)} → ${(settled / MiB).toFixed(1)} → ${(rested / MiB).toFixed(1)} MiB`);
    await wsd.stop();
  }

  if (wanted("cold")) {
    const workspace = url("cold");
    const writer = await startWsd(workspace, join(root, "mnt-cold-writer"), join(root, "cache-cold-writer"));
    // One perl process writes them all (10,000 `head` processes would cost minutes of forks).
    await sh(
      join(root, "mnt-cold-writer"),
      `perl -e 'open(my $r, "<", "/dev/urandom") or die; for my $d (0..99) { mkdir "d$d"; for my $f (0..99) { read($r, my $b, 104857); open(my $o, ">", "d$d/f$f") or die; print $o $b; close($o) } }'`,
      {},
      LONG,
    );
    const pushed = await drain(workspace, join(root, "mnt-cold-writer"));
    await writer.stop();
    log(`  cold: 10,000 files (1 GB) written and pushed (${fmtMs(pushed)} after the last write)`);
    const cold = await startWsd(workspace, join(root, "mnt-cold"), join(root, "cache-cold"), [], LONG);
    const listed = await timedSh(join(root, "mnt-cold"), "ls d99 | wc -l");
    out.push(
      "Cold mount of a 10,000-file, 1 GB workspace (an empty cache)",
      "",
      `| mounted (wsd's start to its "mounted" line) | first \`ls\` after |`,
      "|---:|---:|",
      `| ${fmtMs(cold.startMs)} | ${fmtMs(listed.ms)} |`,
      "",
    );
    await cold.stop();
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

try {
  await main();
} catch (error) {
  log(`scale bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
