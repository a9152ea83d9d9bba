/** The daemon's intervals, in one place so tests can shorten them. */
export interface DaemonTiming {
  /** Quiet time before housekeeping (garbage, WAL checkpoint). */
  idleMs: number;
  /** Quiet time after which a WAL that took in much new content is copied back early (src/wsd/housekeeper.ts). */
  checkpointQuietMs: number;
  /** Quiet time after which the WAL file kept for the next writes is given back (truncated). */
  walReleaseMs: number;
  /** Chunks deleted per housekeeping slice. */
  garbagePerSlice: number;
  /** Garbage (content nothing references) kept before it is collected without waiting for quiet, unless twice the live content is more. */
  garbageBoundBytes: number;
  /** Free space in the replica's file past which quiet housekeeping returns it to the file system. */
  vacuumAboveBytes: number;
  /** How long the mount must be quiet after a local change before its push starts (changes meanwhile go in the same push). */
  pushDelayMs: number;
  /** The longest a change waits for its push while changes keep coming (a burst that never pauses still syncs). */
  pushMaxDelayMs: number;
  /** How long a file's writer must pause (the file still open) before a push sends the file. */
  openWritePushMs: number;
  /** How long fsync waits for the workspace to hold the file (through a reconnect) before it answers EIO. */
  fsyncWaitMs: number;
  /** Reconnect and push-retry delays: doubling from the first to the most. */
  backoffFirstMs: number;
  backoffMaxMs: number;
  /** How long stopping waits for the last push to a server that may not answer. */
  lastPushMs: number;
  /** How often the daemon checks that its mount is still there. */
  mountCheckMs: number;
}

export const DEFAULT_TIMING: DaemonTiming = {
  idleMs: 2000,
  checkpointQuietMs: 250,
  walReleaseMs: 10_000,
  garbagePerSlice: 32,
  garbageBoundBytes: 64 * 1024 * 1024,
  vacuumAboveBytes: 64 * 1024 * 1024,
  pushDelayMs: 20,
  pushMaxDelayMs: 1000,
  openWritePushMs: 1000,
  fsyncWaitMs: 30_000,
  backoffFirstMs: 500,
  backoffMaxMs: 30_000,
  lastPushMs: 5000,
  mountCheckMs: 1000,
};

/**
 * `setTimeout`, or one that does not keep the process alive when `holdsProcess` is false: a
 * Node program using the workspace through the VFS ends when its own work does, not when sync's
 * timers let it (src/wsd/vfs.ts closes the session then).
 */
export function later(ms: number, run: () => void, holdsProcess: boolean): ReturnType<typeof setTimeout> {
  const timer = setTimeout(run, ms);
  if (!holdsProcess) timer.unref();
  return timer;
}
