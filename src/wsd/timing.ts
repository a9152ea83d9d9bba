/** The daemon's intervals, in one place so tests can shorten them. */
export interface DaemonTiming {
  /** Quiet time before housekeeping (garbage, WAL checkpoint). */
  idleMs: number;
  /** Chunks deleted per housekeeping slice. */
  garbagePerSlice: number;
  /** Garbage (content nothing references) kept before it is collected without waiting for quiet, unless the live content is larger. */
  garbageBoundBytes: number;
  /** The latest a file still being written is pushed after its last committed run. */
  openWritePushMs: number;
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
  garbagePerSlice: 32,
  garbageBoundBytes: 64 * 1024 * 1024,
  openWritePushMs: 1000,
  backoffFirstMs: 500,
  backoffMaxMs: 30_000,
  lastPushMs: 5000,
  mountCheckMs: 1000,
};
