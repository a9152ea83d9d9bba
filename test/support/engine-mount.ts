import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll } from "vitest";
import { WorkspaceFs } from "../../src/workspace-do/engine.ts";
import { openNodeSql } from "../../src/workspace-do/sql-node.ts";
import { type MountedWorkspace, mountWorkspace } from "../../src/wsd/mount.ts";

const execFileAsync = promisify(execFile);

/** Real mounts need root and /dev/fuse; the suites that mount skip without them. */
export const canMount = process.getuid?.() === 0 && existsSync("/dev/fuse");

export interface EngineMount {
  /** The engine served by the mount (read it to check what a command did). */
  readonly fs: WorkspaceFs;
  readonly mnt: string;
  /** A scratch directory outside the mount (the shell's HOME). */
  readonly dir: string;
  /** Unexpected failures the adapter answered with EIO: `op path: error`. */
  readonly failures: string[];
  /** Runs a shell script in the mount (entered by the shell, never by spawn: this process serves it); its stdout. */
  sh(script: string, options?: { user?: number }): Promise<string>;
  /** Runs a script expected to fail; its stderr. */
  shFails(script: string, options?: { user?: number }): Promise<string>;
}

/**
 * Mounts a fresh engine (a node:sqlite replica, root directory mode 777) for the describe block
 * it is called in: mounted before its tests, unmounted after. Commands run as child processes.
 */
export function useEngineMount(prefix: string): EngineMount {
  let mounted: MountedWorkspace | undefined;
  const state = { fs: undefined as unknown as WorkspaceFs, mnt: "", dir: "" };
  const failures: string[] = [];
  const sh = async (script: string, options: { user?: number } = {}) => {
    const shell = ["sh", "-c", `cd "$MNT" && ${script}`];
    const command = options.user === undefined ? shell : ["setpriv", `--reuid=${options.user}`, `--regid=${options.user}`, "--clear-groups", ...shell];
    const { stdout } = await execFileAsync(command[0]!, command.slice(1), {
      env: { PATH: process.env.PATH, MNT: state.mnt, TZ: "UTC", HOME: state.dir, GIT_CONFIG_NOSYSTEM: "1", LC_ALL: "C" },
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  };
  const shFails = async (script: string, options: { user?: number } = {}) => {
    try {
      await sh(script, options);
    } catch (error) {
      return (error as { stderr: string }).stderr;
    }
    throw new Error(`expected failure: ${script}`);
  };

  beforeAll(async () => {
    state.dir = await mkdtemp(join(tmpdir(), prefix));
    await chmod(state.dir, 0o755);
    state.mnt = join(state.dir, "mnt");
    state.fs = new WorkspaceFs(openNodeSql(join(state.dir, "replica.db")));
    state.fs.chmod("/", 0o777);
    mounted = await mountWorkspace(state.fs, state.mnt, { onError: (op, path, error) => failures.push(`${op} ${path}: ${String(error)}`) });
  }, 30_000);

  afterAll(async () => {
    await mounted?.unmount();
    await rm(state.dir, { recursive: true, force: true });
  });

  return {
    get fs() {
      return state.fs;
    },
    get mnt() {
      return state.mnt;
    },
    get dir() {
      return state.dir;
    },
    failures,
    sh,
    shFails,
  };
}
