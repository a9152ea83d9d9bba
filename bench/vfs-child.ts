/**
 * One side of bench/vfs.bench.ts, in its own process: writes, reads and stats `count` small
 * files under a directory with node:fs's synchronous calls and prints the time of each phase
 * (ms, median of `reps`) as JSON. With `--vfs <url> <cache>` the directory is in the workspace,
 * mounted in this process through the Node VFS provider; otherwise it is a plain directory
 * (local disk, or a FUSE mount served by another process).
 *
 *   node bench/vfs-child.ts <dir> <count> <reps> [--vfs <url> <cache>]
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mountWorkspaceVfs } from "../src/wsd/vfs.ts";

const [dirArgument, countArgument, repsArgument, flag, url, cache] = process.argv.slice(2);
const count = Number(countArgument);
const reps = Number(repsArgument);
const ws = flag === "--vfs" ? await mountWorkspaceVfs({ url: url!, cache: cache!, log: () => {} }) : undefined;
const dir = ws ? join(ws.mountPoint, dirArgument!) : dirArgument!;
const content = Buffer.alloc(4096, 120);
const times: Record<"writeFile" | "readFile" | "stat", number[]> = { writeFile: [], readFile: [], stat: [] };
for (let rep = 0; rep < reps; rep++) {
  const here = join(dir, `rep-${rep}`);
  mkdirSync(here, { recursive: true });
  const timed = (phase: keyof typeof times, run: (path: string) => void) => {
    const start = performance.now();
    for (let i = 0; i < count; i++) run(join(here, `f${i}.txt`));
    times[phase].push(performance.now() - start);
  };
  timed("writeFile", (path) => writeFileSync(path, content));
  timed("readFile", (path) => readFileSync(path));
  timed("stat", (path) => statSync(path));
}
await ws?.close();
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(JSON.stringify(Object.fromEntries(Object.entries(times).map(([phase, values]) => [phase, median(values)]))));
