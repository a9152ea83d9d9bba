/**
 * A wsd mount of one task's workspace, started as its own process (`bin/wsd.js mount`), so the
 * runner can read the final tree through the kernel and run command checks in a sandbox.
 */
import { existsSync } from "node:fs";
import { mkdir, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { eventually } from "../harness/eventually.ts";
import { spawnWsd } from "../harness/wsd.ts";
import { diffSnapshots, type Snapshot, snapshotDirectory } from "./tree.ts";
import type { WorkspaceServer } from "./workspace.ts";

const live = new Set<Mount>();

export interface Mount {
  dir: string;
  /** SIGTERM: wsd unmounts and exits. */
  stop(): Promise<void>;
}

/** Why this machine cannot mount (FUSE needs /dev/fuse, and wsd's allow_other needs root), or undefined. */
export function mountUnavailable(): string | undefined {
  if (!existsSync("/dev/fuse")) return "there is no /dev/fuse";
  if (process.getuid?.() !== 0) return "mounting with FUSE (allow_other) needs root";
  return undefined;
}

/**
 * Mounts `workspace` at `<root>/<workspace>`, with its replica in `<root>/<workspace>.cache`;
 * resolves once mounted. Stopping it unmounts and removes both.
 */
export async function mountWorkspace(server: WorkspaceServer, workspace: string, root: string): Promise<Mount> {
  const dir = join(root, workspace);
  const cache = join(root, `${workspace}.cache`);
  await mkdir(root, { recursive: true });
  const wsd = spawnWsd(server.url, workspace, dir, cache, server.token ? ["--token", server.token] : []);
  const stop = async () => {
    live.delete(mount);
    await wsd.stop();
    await rm(cache, { recursive: true, force: true });
    // Only an empty directory: if wsd died without unmounting, the mountpoint stays.
    await rmdir(dir).catch(() => {});
  };
  const mount: Mount = { dir, stop };
  live.add(mount);
  try {
    await wsd.mounted();
  } catch (error) {
    await stop();
    throw error;
  }
  return mount;
}

/** Stops every mount still running (an interrupted run). */
export async function stopAllMounts(): Promise<void> {
  await Promise.all([...live].map((mount) => mount.stop()));
}

/**
 * Waits until the mount shows `expected` (the tree the workspace's object has); sync is live but
 * not instant. Returns how they still differ after `timeoutMs`, or undefined once they agree.
 */
export async function mountDisagreement(expected: Snapshot, mount: Mount, timeoutMs = 5000): Promise<string | undefined> {
  try {
    await eventually(async () => {
      const differences = diffSnapshots(expected, await snapshotDirectory(mount.dir), ["MCP", "the mount"]);
      if (differences.length) throw new Error(differences.join("; "));
    }, timeoutMs);
    return undefined;
  } catch (error) {
    return `the mount disagrees with MCP: ${error instanceof Error ? error.message : String(error)}`;
  }
}
