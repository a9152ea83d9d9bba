import type { WorkspaceFs } from "../workspace-do/engine.ts";
import type { NodeSql } from "../workspace-do/sql-node.ts";
import type { DaemonTiming } from "./timing.ts";

/**
 * The replica's housekeeping, once the mount has been quiet for `idleMs`: it deletes the content
 * nothing references any more, `garbagePerSlice` chunks at a time (so a FUSE request waits at
 * most one slice), then copies the WAL into the database. So a burst of writes is written once,
 * not twice, and an overwrite does not also pay for deleting what it replaced.
 *
 * It owns one timer: the quiet period, restarted by every change, then the slices.
 */
export class Housekeeper {
  readonly #replica: () => WorkspaceFs;
  readonly #database: () => NodeSql;
  readonly #timing: Pick<DaemonTiming, "idleMs" | "garbagePerSlice">;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Functions, not values: a reset workspace replaces the replica and its database. */
  constructor(replica: () => WorkspaceFs, database: () => NodeSql, timing: Pick<DaemonTiming, "idleMs" | "garbagePerSlice">) {
    this.#replica = replica;
    this.#database = database;
    this.#timing = timing;
  }

  /** Something changed: the quiet period starts again. */
  poke(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tidy(), this.#timing.idleMs);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** True while housekeeping is waiting or under way. */
  get pending(): boolean {
    return this.#timer !== undefined;
  }

  #tidy(): void {
    if (this.#replica().collectGarbage(this.#timing.garbagePerSlice) === this.#timing.garbagePerSlice) {
      this.#timer = setTimeout(() => this.#tidy(), 0);
      return;
    }
    this.#timer = undefined;
    this.#database().checkpoint();
  }
}
