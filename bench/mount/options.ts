/** The command line (see bench/mount.bench.ts), the paths the bench runs, and its fixed settings. */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export const argv = process.argv.slice(2);
export const JSON_OUTPUT = argv.includes("--json");
const flagValue = (name: string) => {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
};
export const REPS = Number(flagValue("--reps") ?? 3);
export const WSD_ARGS = flagValue("--wsd-args")?.split(/\s+/).filter(Boolean) ?? [];
export const ONLY = flagValue("--only")?.split(",");
/** Pin the local server (wrangler, workerd) to CPU 0 and this process, the daemons and the shells to CPU 1. */
export const PIN = argv.includes("--pin");
export const log = (message: string) => process.stderr.write(`${message}\n`);

export const PROJECT = join(import.meta.dirname, "../..");
export const WSD_BIN = join(PROJECT, "bin/wsd.js");
export const FLOOR = "/work/shared/tools/fuse-floor.cjs";
/** The reference daemon (Cloudflare's computerd, bundled): see its README. */
export const COMPUTERD = "/work/shared/tools/computerd/computerd.cjs";
export const LATENCY_CHILD = join(import.meta.dirname, "../mount-latency-child.ts");
const require = createRequire(import.meta.url);
export const LIBFUSE_DIR = join(dirname(require.resolve("fuse-shared-library-linux/package.json")), "libfuse");
export const MiB = 1024 * 1024;
/** FUSE's default attr_timeout and entry_timeout (libfuse 2): 1 s. */
export const KERNEL_CACHE_MS = 1000;
/** A drain marker not in the workspace after this long, without a push failure, is written again (see `drain`). */
export const STALL_MS = 15_000;
