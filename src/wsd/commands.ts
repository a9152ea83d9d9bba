import type { RpcStub } from "capnweb";
import type { ExecOutput, ExecRequest, ExecResult } from "../wire/exec.ts";
import type { WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError } from "../workspace-do/errors.ts";
import { normalizePath } from "../workspace-do/paths.ts";
import { type CommandUser, type RunningCommand, startCommand } from "./exec.ts";
import { fuseMounts } from "./fuse-binding.ts";
import type { CommandRunner, SyncClient } from "./sync-client.ts";

export interface MountCommandsOptions {
  /** The replica the mount serves (a reset workspace replaces it). */
  replica: () => WorkspaceFs;
  /** The mountpoint once the workspace is mounted (exec is refused before). */
  mountpoint: () => string | undefined;
  /** Lands the mount's buffered writes. */
  settle: () => void;
  /** Sync changed `paths`: resolves once the kernel dropped what it held of them (the mount's adapter). */
  pulled: (paths: string[]) => Promise<void>;
  /** One line per command, when verbose. */
  log?: (line: string) => void;
  /** The user commands run as (`--exec-user`); default the daemon's own. */
  user?: () => CommandUser | undefined;
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
  /** Until this settles, `stat` in the mount may show a file as it was before sync changed it. */
  #dropping: Promise<void> = Promise.resolve();

  constructor(options: MountCommandsOptions) {
    this.#options = options;
  }

  /** Sync changed `paths`: the kernel is told to drop what it holds of them. */
  pulled(paths: string[]): void {
    const dropping = this.#options.pulled(paths);
    this.#dropping = Promise.all([this.#dropping, dropping]).then(() => {});
  }

  async exec(request: ExecRequest, output: RpcStub<ExecOutput>, client: SyncClient): Promise<ExecResult> {
    const mountpoint = this.#options.mountpoint();
    // Checked at every call, not only by the daemon's periodic look: a command must never run in
    // the bare directory a mount left behind.
    if (mountpoint === undefined || !(await fuseMounts()).some((entry) => entry.mountpoint === mountpoint)) {
      throw new FsError("EIO", "(exec)", "cannot run: the workspace is not mounted in this sandbox (not yet, or not any more)");
    }
    if (this.#running.has(request.id)) throw new FsError("EEXIST", request.id, "names a command that is already running");
    const cwd = normalizePath(request.cwd ?? "/");
    await client.push();
    for (let attempt = 0; client.cursor < request.rev; attempt++) {
      if (attempt === 5)
        throw new FsError("EIO", "(exec)", `cannot start: the sandbox could not catch up with revision ${request.rev} (it holds ${client.cursor}); try again`);
      await client.pull();
    }
    const stats = this.#options.replica().stat(cwd);
    if (stats.type !== "directory") throw new FsError("ENOTDIR", cwd, "is not a directory; give a directory as cwd");
    // The kernel may still hold names, sizes and pages from before a pull until it has dropped them.
    await this.#dropping;

    const ignoreGone = () => {}; // the object stopped listening; the command still runs to its end
    output.started().catch(ignoreGone);
    this.#options.log?.(`exec ${request.id} in ${cwd}: ${JSON.stringify(request.command)}`);
    const command = startCommand(
      request,
      mountpoint,
      cwd,
      {
        stdout: (text) => void output.stdout(text).catch(ignoreGone),
        stderr: (text) => void output.stderr(text).catch(ignoreGone),
      },
      this.#options.user?.(),
    );
    this.#running.set(request.id, command);
    try {
      const result = await command.result;
      this.#options.settle();
      // Its files are written: one it closed last may still look open (release comes after exit).
      await client.pushAll();
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
