/**
 * The Node VFS provider (`workspace-fs/vfs`) against the same `node:fs` calls on a FUSE mount of
 * the same kind of workspace (`wsd mount`, when this machine can mount) and on local disk, in one
 * run against a local `wrangler dev`: `writeFileSync`, `readFileSync` and `statSync` of 1,000
 * files of 4 KiB, each side in its own process (bench/vfs-child.ts), median of 3. Prints a table
 * of rates and ratios to local disk. See bench/README.md ("The Node VFS provider").
 *
 *   npm run bench:vfs            # ~30 s
 *   npm run bench:vfs -- --json
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startDevServer } from "../harness/dev-server.ts";
import { canMount, spawnWsd } from "../harness/wsd.ts";

const COUNT = 1000;
const REPS = 3;
const run = promisify(execFile);
const child = join(import.meta.dirname, "vfs-child.ts");
type Times = Record<"writeFile" | "readFile" | "stat", number>;

async function side(args: string[]): Promise<Times> {
  const { stdout } = await run(process.execPath, ["--no-warnings", child, ...args], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as Times;
}

const root = mkdtempSync(join(tmpdir(), "bench-vfs-"));
const server = await startDevServer({ persistTo: join(root, "state") });
try {
  const results: Record<string, Times> = {};
  console.error("local disk…");
  results["local disk"] = await side([join(root, "disk"), String(COUNT), String(REPS)]);
  console.error("VFS provider…");
  results["VFS provider"] = await side(["/bench", String(COUNT), String(REPS), "--vfs", `${server.url}/w/bench-vfs`, join(root, "cache-vfs")]);
  if (canMount) {
    console.error("FUSE mount…");
    const wsd = spawnWsd(server.url, "bench-fuse", join(root, "mnt"), join(root, "cache-fuse"));
    try {
      await wsd.mounted();
      results["FUSE mount"] = await side([join(root, "mnt", "bench"), String(COUNT), String(REPS)]);
    } finally {
      await wsd.stop();
    }
  } else console.error("FUSE mount: skipped (needs root and /dev/fuse)");
  if (process.argv.includes("--json")) console.log(JSON.stringify({ count: COUNT, reps: REPS, results }, null, 2));
  else {
    const disk = results["local disk"]!;
    console.log(`| ${COUNT} files of 4 KiB, median of ${REPS} | ${Object.keys(results).join(" | ")} |`);
    console.log(
      `| --- | ${Object.keys(results)
        .map(() => "---:")
        .join(" | ")} |`,
    );
    for (const phase of ["writeFile", "readFile", "stat"] as const) {
      const cells = Object.values(results).map(
        (times) => `${Math.round((COUNT / times[phase]) * 1000).toLocaleString("en")}/s (${(times[phase] / disk[phase]).toFixed(1)}x)`,
      );
      console.log(`| ${phase}Sync | ${cells.join(" | ")} |`);
    }
  }
} finally {
  await server.stop();
  rmSync(root, { recursive: true, force: true });
}
