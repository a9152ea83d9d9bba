import { spawn } from "node:child_process";
import { constants } from "node:os";
import { resolve } from "node:path";
import { messageOf } from "../workspace-do/errors.ts";
import { plural } from "./daemon.ts";
import { checkServer } from "./preflight.ts";
import { ReplicaSync } from "./replica-sync.ts";
import { DEFAULT_TIMING } from "./timing.ts";
import { VFS_ENV, vfsCacheDirectory } from "./vfs-env.ts";
import { parseWorkspaceUrl } from "./workspace-url.ts";

/** What `wsd run --vfs` runs, and against which workspace. */
export interface RunOptions {
  url: string;
  token?: string;
  cache?: string;
  mountPoint?: string;
  verbose?: boolean;
  /** The command: a Node program (`node build.js`), which mounts the workspace in its own process. */
  command: string[];
}

/** The preload beside this module: TypeScript in a checkout, JavaScript in the package. */
const PRELOAD = new URL(import.meta.url.endsWith(".ts") ? "./vfs-preload.ts" : "./vfs-preload.js", import.meta.url).href;

/**
 * `wsd run --vfs <url> -- node build.js`: runs the command with the workspace mounted through
 * Node's VFS in the first Node process it starts (`--import` of a preload, the URL and token in
 * its environment), and answers its exit code (128 + the signal's number if a signal ended it).
 * The program pushes its changes as it closes files and when it ends; what a `process.exit()`
 * left unpushed in the replica is pushed here after it exits, so nothing stays behind.
 */
export async function runWithVfs(options: RunOptions, log: (line: string) => void): Promise<number> {
  const { base } = parseWorkspaceUrl(options.url);
  await checkServer(base, options.token);
  const cache = resolve(options.cache ?? vfsCacheDirectory(options.url));
  const [program, ...args] = options.command;
  const child = spawn(program!, args, {
    stdio: "inherit",
    env: {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --disable-warning=ExperimentalWarning --import=${PRELOAD}`.trim(),
      [VFS_ENV.url]: base,
      [VFS_ENV.cache]: cache,
      ...(options.mountPoint ? { [VFS_ENV.mountPoint]: resolve(options.mountPoint) } : {}),
      ...(options.verbose ? { [VFS_ENV.verbose]: "1" } : {}),
      ...(options.token ? { WSD_TOKEN: options.token } : {}),
    },
  });
  const code = await new Promise<number>((done, fail) => {
    child.once("error", (error) => fail(new Error(`cannot run ${program}: ${messageOf(error)}`)));
    child.once("exit", (exitCode, signal) => done(exitCode ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
  await pushLeftovers(base, cache, options.token, log);
  return code;
}

/** Pushes what the program's replica holds that the workspace does not (nothing, unless it ended with process.exit()). */
async function pushLeftovers(url: string, cache: string, token: string | undefined, log: (line: string) => void): Promise<void> {
  let sync: ReplicaSync;
  try {
    sync = new ReplicaSync({
      url,
      token,
      cache,
      info: { name: "wsd run", exec: false, mountpoint: "" },
      prefetch: true,
      log: () => {},
      timing: DEFAULT_TIMING,
    });
  } catch (error) {
    log(`cannot open the replica ${cache} to push what the program left: ${messageOf(error)}`);
    return;
  }
  const left = sync.pending();
  if (left > 0) {
    try {
      // Connecting pushes what the replica holds; stop() pushes anything still left.
      await sync.start();
    } catch (error) {
      log(`the program's last changes stay in ${cache} (cannot reach ${url}: ${messageOf(error)}); the next run pushes them`);
    }
  }
  const { kept } = await sync.stop();
  if (left > kept) log(`pushed ${plural(left - kept, "change")} the program left unpushed`);
}
