import { messageOf } from "../workspace-do/errors.ts";
import { type DaemonTiming, later } from "./timing.ts";

/**
 * When the replica's own changes go to the workspace. Every committed change (a closed file, a
 * mkdir, an rm…) is pushed at once, and pushes coalesce in the sync client. A file still being
 * written is held back by the push (the sync client's `isHeld`): it goes when it is closed or
 * fsync'd, or once its writer has paused for `openWritePushMs` (a log kept open still syncs),
 * so a push that held something back is followed by another that long after. A failed push is
 * retried with doubling delays, and again on every reconnect: never dropped.
 *
 * It owns two timers: the retry after a failure and the late push of what was held back.
 */
export class PushScheduler {
  readonly #push: () => Promise<void> | undefined;
  readonly #timing: Pick<DaemonTiming, "openWritePushMs" | "backoffFirstMs" | "backoffMaxMs" | "pushDelayMs" | "pushMaxDelayMs">;
  readonly #log: (line: string) => void;
  readonly #onPushed: () => void;
  readonly #holdingBack: () => boolean;
  readonly #holdsProcess: boolean;
  #backoffMs: number;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #late: ReturnType<typeof setTimeout> | undefined;
  #soon: ReturnType<typeof setTimeout> | undefined;
  #firstChangeAt = 0;
  #lastChangeAt = 0;
  #stopped = false;

  /**
   * `push` starts a push, or answers undefined while there is no session (the reconnect pushes);
   * `onPushed` runs after each push that succeeded; `holdingBack` tells whether a push left a
   * file for later; `holdsProcess` false lets the process end while a timer waits (default true).
   */
  constructor(options: {
    push: () => Promise<void> | undefined;
    timing: Pick<DaemonTiming, "openWritePushMs" | "backoffFirstMs" | "backoffMaxMs" | "pushDelayMs" | "pushMaxDelayMs">;
    log: (line: string) => void;
    onPushed: () => void;
    holdingBack?: () => boolean;
    holdsProcess?: boolean;
  }) {
    this.#holdsProcess = options.holdsProcess ?? true;
    this.#push = options.push;
    this.#holdingBack = options.holdingBack ?? (() => false);
    this.#timing = options.timing;
    this.#log = options.log;
    this.#onPushed = options.onPushed;
    this.#backoffMs = options.timing.backoffFirstMs;
  }

  /**
   * A local change committed: pushes once the mount has been quiet for `pushDelayMs`, or
   * `pushMaxDelayMs` after the first change not yet pushed if it never goes quiet. So a burst
   * (a loop of creates, `tar x`, git writing objects) goes out as one push of many entries after
   * it, not as many pushes during it, each of which would take the FUSE thread's time from the
   * burst; a lone change still goes within `pushDelayMs`.
   */
  changed(): void {
    const now = Date.now();
    this.#lastChangeAt = now;
    if (this.#soon) return;
    this.#firstChangeAt = now;
    this.#soon = later(this.#timing.pushDelayMs, () => this.#pushWhenQuiet(), this.#holdsProcess);
  }

  /** The gathering timer fired: push, or wait on while changes keep coming (the timer is re-armed, not reset per change). */
  #pushWhenQuiet(): void {
    const now = Date.now();
    const quietAt = this.#lastChangeAt + this.#timing.pushDelayMs;
    const deadline = this.#firstChangeAt + this.#timing.pushMaxDelayMs;
    if (quietAt > now && deadline > now) {
      this.#soon = later(Math.min(quietAt, deadline) - now, () => this.#pushWhenQuiet(), this.#holdsProcess);
      return;
    }
    this.#soon = undefined;
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
        if (this.#holdingBack() && !this.#stopped) {
          this.#late ??= later(
            this.#timing.openWritePushMs,
            () => {
              this.#late = undefined;
              this.now();
            },
            this.#holdsProcess,
          );
        }
      },
      (error: unknown) => {
        this.#log(`push failed (${messageOf(error)}); retrying in ${this.#backoffMs / 1000} s`);
        this.#retry ??= later(
          this.#backoffMs,
          () => {
            this.#retry = undefined;
            this.now();
          },
          this.#holdsProcess,
        );
        this.#backoffMs = Math.min(this.#backoffMs * 2, this.#timing.backoffMaxMs);
      },
    );
  }

  /** Cancels both timers; later calls do nothing. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retry);
    clearTimeout(this.#late);
    clearTimeout(this.#soon);
    this.#retry = this.#late = this.#soon = undefined;
  }

  /** True while a retry or a late push is waiting (tests check that stop leaves none). */
  get pending(): boolean {
    return this.#retry !== undefined || this.#late !== undefined || this.#soon !== undefined;
  }
}
