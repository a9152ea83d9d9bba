import { messageOf } from "../workspace-do/errors.ts";
import type { DaemonTiming } from "./timing.ts";

/**
 * When the replica's own changes go to the workspace. Every committed change (a closed file, a
 * mkdir, an rm…) is pushed at once, and pushes coalesce in the sync client. A file still being
 * written (a 4 MiB run committed before its close) is pushed on its close or at the latest
 * `openWritePushMs` later, so a large file streaming in does not compete with FUSE for the one
 * thread, and a file kept open still syncs. A failed push is retried with doubling delays, and
 * again on every reconnect: never dropped.
 *
 * It owns two timers: the retry after a failure and the late push of a file still open.
 */
export class PushScheduler {
  readonly #push: () => Promise<void> | undefined;
  readonly #timing: Pick<DaemonTiming, "openWritePushMs" | "backoffFirstMs" | "backoffMaxMs">;
  readonly #log: (line: string) => void;
  readonly #onPushed: () => void;
  #backoffMs: number;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #late: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /**
   * `push` starts a push, or answers undefined while there is no session (the reconnect pushes);
   * `onPushed` runs after each push that succeeded.
   */
  constructor(options: {
    push: () => Promise<void> | undefined;
    timing: Pick<DaemonTiming, "openWritePushMs" | "backoffFirstMs" | "backoffMaxMs">;
    log: (line: string) => void;
    onPushed: () => void;
  }) {
    this.#push = options.push;
    this.#timing = options.timing;
    this.#log = options.log;
    this.#onPushed = options.onPushed;
    this.#backoffMs = options.timing.backoffFirstMs;
  }

  /** A local change committed; `fileStillOpen` when it is a run of a file not yet closed. */
  changed(fileStillOpen: boolean): void {
    if (fileStillOpen) {
      this.#late ??= setTimeout(() => {
        this.#late = undefined;
        this.now();
      }, this.#timing.openWritePushMs);
      return;
    }
    clearTimeout(this.#late);
    this.#late = undefined;
    this.now();
  }

  /** Pushes now; a failure schedules a retry. */
  now(): void {
    if (this.#stopped) return;
    // Its failure is handled right here (logged, retried), so nothing floats.
    void this.#push()?.then(
      () => {
        this.#backoffMs = this.#timing.backoffFirstMs;
        this.#onPushed();
      },
      (error: unknown) => {
        this.#log(`push failed (${messageOf(error)}); retrying in ${this.#backoffMs / 1000} s`);
        this.#retry ??= setTimeout(() => {
          this.#retry = undefined;
          this.now();
        }, this.#backoffMs);
        this.#backoffMs = Math.min(this.#backoffMs * 2, this.#timing.backoffMaxMs);
      },
    );
  }

  /** Cancels both timers; later calls do nothing. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retry);
    clearTimeout(this.#late);
    this.#retry = this.#late = undefined;
  }

  /** True while a retry or a late push is waiting (tests check that stop leaves none). */
  get pending(): boolean {
    return this.#retry !== undefined || this.#late !== undefined;
  }
}
