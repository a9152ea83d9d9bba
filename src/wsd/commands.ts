import type { RpcStub } from "capnweb";
import type { WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError } from "../workspace-do/errors.ts";
import { normalizePath } from "../workspace-do/paths.ts";
import { startCommand, type RunningCommand } from "./exec.ts";
import type { ExecOutput, ExecRequest, ExecResult } from "./protocol.ts";
import type { CommandRunner, SyncClient } from "./sync-client.ts";

export interface MountCommandsOptions {
  /** The replica the mount serves (a reset workspace replaces it). */
  replica: () => WorkspaceFs;
  /** The mountpoint once the workspace is mounted (exec is refused before). */
  mountpoint: () => string | undefined;
  /** Lands the mount's buffered writes. */
  settle: () => void;
  /** How long the kernel may keep attributes it was given (the mount's `attr_timeout`). */
  attributeCacheMs: number;
  /** One line per command, when verbose. */
  log?: (line: string) => void;
}

/**
 * `exec` on a mounted workspace, with the barriers that make the files agree: before the
 * command starts, the replica's older changes are pushed and the object's revision at the call
 * is applied in the mount (and outlives the kernel's attribute cache); before the answer goes
 * back, what the command changed is pushed.
 */
export class MountCommands implements CommandRunner {
  readonly #options: MountCommandsOptions;
  readonly #running = new Map<string, RunningCommand>();
  /** When sync last changed files under the kernel's caches. */
  #lastPulledAt = 0;

  constructor(options: MountCommandsOptions) {
    this.#options = options;
  }

  /** Sync applied a page: attributes the kernel holds may be stale until the cache runs out. */
  pulled(): void {
    this.#lastPulledAt = Date.now();
  }

  async exec(request: ExecRequest, output: RpcStub<ExecOutput>, client: SyncClient): Promise<ExecResult> {
    const mountpoint = this.#options.mountpoint();
    if (mountpoint === undefined) throw new FsError("EIO", "(exec)", "cannot run yet: the workspace is not mounted; try again in a moment");
    if (this.#running.has(request.id)) throw new FsError("EEXIST", request.id, "names a command that is already running");
    const cwd = normalizePath(request.cwd ?? "/");
    await client.push();
    while (client.cursor < request.rev) await client.pull();
    const stats = this.#options.replica().stat(cwd);
    if (stats.type !== "directory") throw new FsError("ENOTDIR", cwd, "is not a directory; give a directory as cwd");
    // The kernel may still hold sizes and times from before the pull: wait until they expire.
    const stale = this.#lastPulledAt + this.#options.attributeCacheMs - Date.now();
    if (stale > 0) await new Promise((resolve) => setTimeout(resolve, stale));

    const ignoreGone = () => {}; // the object stopped listening; the command still runs to its end
    output.started().catch(ignoreGone);
    this.#options.log?.(`exec ${request.id} in ${cwd}: ${JSON.stringify(request.command)}`);
    const command = startCommand(request, mountpoint, cwd, {
      stdout: (text) => void output.stdout(text).catch(ignoreGone),
      stderr: (text) => void output.stderr(text).catch(ignoreGone),
    });
    this.#running.set(request.id, command);
    try {
      const result = await command.result;
      this.#options.settle();
      await client.push();
      this.#options.log?.(`exec ${request.id} ended: ${result.signal ?? `exit ${result.exitCode}`} after ${result.durationMs} ms`);
      return result;
    } finally {
      this.#running.delete(request.id);
    }
  }

  kill(id: string, signal?: string): void {
    this.#running.get(id)?.kill(isSignal(signal) ? signal : "SIGKILL");
  }

  /** The session that asked is gone: nobody can receive these commands' results. */
  killAll(): void {
    for (const command of this.#running.values()) command.kill("SIGKILL");
  }
}

const isSignal = (name: string | undefined): name is NodeJS.Signals => name !== undefined && /^SIG[A-Z0-9]+$/.test(name);
