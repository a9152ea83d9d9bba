/** Why a mount could not start, each its own exit code of `wsd mount` (see cli.ts). */
export type StartFailure = "usage" | "unreachable" | "access" | "rejected" | "mountpoint" | "fuse" | "busy";

/** A mount that cannot start, with one sentence a person can act on. */
export class StartError extends Error {
  readonly reason: StartFailure;

  constructor(reason: StartFailure, message: string) {
    super(message);
    this.reason = reason;
  }
}
