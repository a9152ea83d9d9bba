import type { WorkspaceFs } from "../workspace-do/engine.ts";
import type { NodeSql } from "../workspace-do/sql-node.ts";
import { type DaemonTiming, later } from "./timing.ts";

/**
 * Free pages returned to the file system per housekeeping slice (256 KiB of 4 KiB pages):
 * measured after freeing 385 MiB, about 1 ms a slice (5 ms at most); 256 pages took 5 ms (24 ms).
 */
const VACUUM_PAGES_PER_SLICE = 64;

/** Content written since the last checkpoint past which a short pause copies the WAL back (see the class comment). */
const EARLY_CHECKPOINT_BYTES = 16 * 1024 * 1024;

/**
 * The replica's housekeeping, and the bound on its size.
 *
 * Once the mount has been quiet for `idleMs`, it deletes the content nothing references any
 * more, `garbagePerSlice` chunks at a time (so a FUSE request waits at most one slice), drops
 * content over the cache limit (`--cache-max`, in slices: `evict`), returns
 * the freed pages to the file system once they come to more than `vacuumAboveBytes` and the
 * live content (incremental vacuum, in slices too: below that SQLite reuses them, and moving
 * pages costs I/O a busy mount would wait for), and copies the WAL into the database. So the
 * replica stays under about twice its live content plus 64 MiB, and the WAL file the database
 * keeps (`walKeepBytes`). So a burst of writes is written once, not twice, and an overwrite
 * does not also pay for deleting what it replaced.
 *
 * The WAL is copied back sooner when much was written: after a pause of `checkpointQuietMs`
 * once 16 MiB of new content has landed since the last copy. The next writes then go over the
 * WAL's first blocks again rather than to new ones at its end, and on ext4 extending a file
 * costs about 30 times what rewriting its blocks does (64 MiB: 160 ms against 5 ms, measured
 * here): the mount bench's 64 MiB write went from 206–224 to 183–195 ms, its overwrite from
 * 356–369 to 183–189 ms (bench/README.md). For the same reason the WAL file is kept through
 * short pauses (SQLite keeps at most `walKeepBytes` of it), and truncated only once the mount
 * has rested for `walReleaseMs`.
 *
 * A burst that never goes quiet (a program rewriting one file for minutes) would keep garbage
 * without limit: past `garbageBoundBytes`, or twice the live content if that is larger (so an
 * overwrite of a large file in place never pays for collecting while it writes), slices run at
 * once between FUSE requests until the garbage is under the bound again, and the WAL is copied
 * back and truncated whenever it has grown past the same bound.
 *
 * Quiet means no change and no request either: each quiet-time slice first checks when the
 * mount last served a request (`lastRequestAt`) and waits for `idleMs` of it, so a program that
 * only reads (a build's `stat`s, `npm ci` reading its tree) is never slowed by a slice; measured,
 * vacuum slices that ran between the reads of an `npm ci` made it 2.4x slower.
 *
 * It owns one timer, restarted by every change: the short pause (the early checkpoint), the
 * quiet period, the slices, then the rest before the WAL is released.
 */
type HousekeeperTiming = Pick<DaemonTiming, "idleMs" | "checkpointQuietMs" | "walReleaseMs" | "garbagePerSlice" | "garbageBoundBytes" | "vacuumAboveBytes">;

export class Housekeeper {
  readonly #replica: () => WorkspaceFs;
  readonly #database: () => NodeSql;
  readonly #timing: HousekeeperTiming;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The timer runs a slice over the bound (which a change must not push back, or a steady burst would starve it). */
  #collecting = false;
  /** The replica's `contentWrittenBytes` at the last checkpoint. */
  #writtenAtCheckpoint = 0;

  readonly #evict: () => boolean;
  readonly #holdsProcess: boolean;
  readonly #lastRequestAt: () => number;

  /**
   * Functions, not values: a reset workspace replaces the replica and its database. `evict`
   * drops one slice of content over the cache limit and answers whether more is over;
   * `holdsProcess` false lets the process end while housekeeping waits; `lastRequestAt` is when
   * the mount last served a request (ms; default never).
   */
  constructor(
    replica: () => WorkspaceFs,
    database: () => NodeSql,
    timing: HousekeeperTiming,
    options: { evict?: () => boolean; holdsProcess?: boolean; lastRequestAt?: () => number } = {},
  ) {
    this.#holdsProcess = options.holdsProcess ?? true;
    this.#replica = replica;
    this.#database = database;
    this.#timing = timing;
    this.#evict = options.evict ?? (() => false);
    this.#lastRequestAt = options.lastRequestAt ?? (() => 0);
  }

  /** Something changed: the quiet period starts again (or garbage past the bound is collected now). */
  poke(): void {
    if (this.#collecting) return;
    clearTimeout(this.#timer);
    this.#collecting = this.#overBound();
    if (this.#collecting) {
      this.#timer = this.#later(0, () => this.#collectOverBound());
      return;
    }
    const { checkpointQuietMs, idleMs } = this.#timing;
    this.#timer = this.#later(checkpointQuietMs, () =>
      this.#whenQuiet(checkpointQuietMs, () => {
        this.#checkpointIfMuchWritten();
        this.#timer = this.#later(Math.max(0, idleMs - checkpointQuietMs), () => this.#whenQuiet(idleMs, () => this.#tidy()));
      }),
    );
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#collecting = false;
  }

  /** True while housekeeping is waiting or under way. */
  get pending(): boolean {
    return this.#timer !== undefined;
  }

  #overBound(): boolean {
    const replica = this.#replica();
    return replica.garbageBytes > Math.max(this.#timing.garbageBoundBytes, 2 * replica.storedBytes);
  }

  #collectOverBound(): void {
    this.#replica().collectGarbage(this.#timing.garbagePerSlice);
    // A churning burst also fills the WAL, which is otherwise copied back only past 256 MiB (so
    // a large write is written once): past the garbage bound, copy it now and cut it back.
    if (this.#database().walBytes() > this.#timing.garbageBoundBytes) this.#checkpoint({ truncate: true });
    this.#collecting = false;
    this.poke();
  }

  #checkpointIfMuchWritten(): void {
    if (this.#replica().contentWrittenBytes - this.#writtenAtCheckpoint >= EARLY_CHECKPOINT_BYTES) this.#checkpoint();
  }

  #checkpoint(options: { truncate?: boolean } = {}): void {
    this.#writtenAtCheckpoint = this.#replica().contentWrittenBytes;
    this.#database().checkpoint(options);
  }

  #tidy(): void {
    if (this.#replica().collectGarbage(this.#timing.garbagePerSlice) === this.#timing.garbagePerSlice) {
      this.#whenIdle(() => this.#tidy());
      return;
    }
    this.#whenIdle(() => this.#evictOverLimit());
  }

  #evictOverLimit(): void {
    if (this.#evict()) {
      this.#whenIdle(() => this.#evictOverLimit());
      return;
    }
    if (this.#database().freeBytes() > Math.max(this.#timing.vacuumAboveBytes, this.#replica().contentBytes())) this.#vacuum();
    else this.#whenIdle(() => this.#finish());
  }

  #vacuum(): void {
    this.#whenIdle(() => (this.#database().vacuumStep(VACUUM_PAGES_PER_SLICE) > 0 ? this.#vacuum() : this.#finish()));
  }

  #whenIdle(slice: () => void): void {
    this.#whenQuiet(this.#timing.idleMs, slice);
  }

  /** Runs `slice` once the mount has served no request for `quietMs` (at once, between requests, if it has not). */
  #whenQuiet(quietMs: number, slice: () => void): void {
    const wait = this.#lastRequestAt() + quietMs - Date.now();
    this.#timer = wait > 0 ? this.#later(wait, () => this.#whenQuiet(quietMs, slice)) : this.#later(0, slice);
  }

  #later(ms: number, run: () => void): ReturnType<typeof setTimeout> {
    return later(ms, run, this.#holdsProcess);
  }

  #finish(): void {
    this.#checkpoint();
    const { walReleaseMs } = this.#timing;
    this.#timer = this.#later(walReleaseMs, () =>
      this.#whenQuiet(walReleaseMs, () => {
        this.#timer = undefined;
        this.#checkpoint({ truncate: true });
      }),
    );
  }
}
