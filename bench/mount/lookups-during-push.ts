/**
 * How the mount answers while wsd pushes: lookups of absent names in the mount (each one a FUSE
 * request to wsd), timed one by one in a Node child, at rest and right after a 64 MiB file is
 * written, while its push is under way: the push's encoding (base64 JSON over a WebSocket) runs
 * on the thread that serves FUSE. Only wsd has a push, so this has no peer to compare.
 */
import { join } from "node:path";
import { run, sh } from "./processes.ts";
import { type Stats, stats } from "./stats.ts";

export interface PushLookups {
  /** Per lookup, ms; and the whole run of lookups. */
  idle: Stats;
  idleTotalMs: number[];
  pushing: Stats;
  pushingTotalMs: number[];
}

const LOOKUPS = 1000;
const REPS = 3;

/** The child: `LOOKUPS` stats of absent names in a directory, each timed; prints the times as JSON. */
const PROBE = `
const fs = require("node:fs");
const [dir, n] = [process.argv[1], Number(process.argv[2])];
const times = [];
for (let i = 0; i < n; i++) {
  const start = performance.now();
  try { fs.statSync(dir + "/absent-" + process.pid + "-" + i); } catch {}
  times.push(performance.now() - start);
}
process.stdout.write(JSON.stringify(times));
`;

async function lookups(dir: string): Promise<number[]> {
  const { stdout } = await run(process.execPath, ["-e", PROBE, dir, String(LOOKUPS)]);
  return JSON.parse(stdout) as number[];
}

/** `drain` waits until the workspace has what the mount wrote. */
export async function measureLookupsDuringPush(mnt: string, src: string, drain: () => Promise<unknown>): Promise<PushLookups> {
  const dir = join(mnt, "push-lookups");
  await sh(mnt, "mkdir -p push-lookups");
  const idle: number[] = [];
  const pushing: number[] = [];
  const idleTotalMs: number[] = [];
  const pushingTotalMs: number[] = [];
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  for (let rep = 0; rep < REPS; rep++) {
    // New bytes each time: content the workspace already holds is not sent again.
    const source = join(src, `push-lookups-${rep}`);
    await sh("/", `head -c ${64 * 1024 * 1024} /dev/urandom > '${source}'`);
    const atRest = await lookups(dir);
    idle.push(...atRest);
    idleTotalMs.push(sum(atRest));
    await sh(dir, `dd if='${source}' of=big-${rep} bs=1M 2>/dev/null`);
    const during = await lookups(dir);
    pushing.push(...during);
    pushingTotalMs.push(sum(during));
    await drain();
    await sh("/", `rm -f '${source}'`);
  }
  return { idle: stats(idle), idleTotalMs, pushing: stats(pushing), pushingTotalMs };
}
