import { spawn } from "node:child_process";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { EXEC_LIMITS, type ExecOutput, type ExecRequest, type ExecResult, keptStream } from "../wire/exec.ts";

/**
 * Runs one command for `exec` in its own process group, with its working directory inside the
 * mount. The barriers around it (pull before, push after) are the caller's; this module only
 * starts, streams, caps, times out and kills.
 *
 * The process is started with its working directory outside the mount and `cd`s itself: the
 * spawning call blocks this event loop until the child has exec'd, and a child that touched the
 * mount before that would wait on FUSE answers only this event loop can give.
 */
export interface RunningCommand {
  readonly result: Promise<ExecResult>;
  /** Signals the whole process group. */
  kill(signal?: NodeJS.Signals): void;
}

/** After a timeout's SIGTERM, how long the group has before SIGKILL. */
const KILL_GRACE_MS = 2000;
/** Output is sent to the object in pieces at most this often. */
const STREAM_INTERVAL_MS = 50;

/** The user a command runs as (`wsd mount --exec-user`): ids, and the home it gets as HOME. */
export interface CommandUser {
  uid: number;
  gid: number;
  home: string;
}

export function startCommand(
  request: ExecRequest,
  mountpoint: string,
  workspaceDir: string,
  output: Omit<ExecOutput, "started">,
  user?: CommandUser,
): RunningCommand {
  const cwd = join(mountpoint, workspaceDir);
  const argv =
    typeof request.command === "string"
      ? ["-c", 'cd -- "$0" && exec /bin/sh -c "$1"', cwd, request.command]
      : ["-c", 'cd -- "$0" && exec "$@"', cwd, ...request.command];
  const started = Date.now();
  const child = spawn("/bin/sh", argv, {
    cwd: "/",
    detached: true,
    env: { ...process.env, ...(user && { HOME: user.home, USER: undefined, LOGNAME: undefined }), ...request.env, PWD: cwd },
    ...(user && { uid: user.uid, gid: user.gid }),
    stdio: [request.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  const stdout = new CappedStream((text) => output.stdout(text));
  const stderr = new CappedStream((text) => output.stderr(text));
  child.stdout!.on("data", (data: Buffer) => stdout.add(data));
  child.stderr!.on("data", (data: Buffer) => stderr.add(data));
  if (request.stdin !== undefined) {
    child.stdin!.on("error", () => {}); // a command that exits without reading its input
    child.stdin!.end(request.stdin);
  }

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is gone already
    }
  };
  let timedOut = false;
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const timeout = setTimeout(
    () => {
      timedOut = true;
      killGroup("SIGTERM");
      graceTimer = setTimeout(() => killGroup("SIGKILL"), KILL_GRACE_MS);
    },
    Math.min(request.timeoutMs ?? EXEC_LIMITS.defaultTimeoutMs, EXEC_LIMITS.maxTimeoutMs),
  );

  const result = new Promise<ExecResult>((resolve, reject) => {
    child.once("error", (error) => {
      clearTimeout(timeout);
      reject(error);
    });
    // "exit", not "close": a background process that keeps the pipes open must not hold exec.
    child.once("exit", (code, signal) => {
      clearTimeout(timeout);
      clearTimeout(graceTimer);
      // Whatever the group left running is killed with it, so nothing outlives its exec.
      killGroup("SIGKILL");
      // Output already in the pipes arrives just after exit.
      setImmediate(() => {
        stdout.end();
        stderr.end();
        resolve({
          exitCode: code,
          signal,
          timedOut,
          stdout: stdout.kept(),
          stderr: stderr.kept(),
          stdoutChars: stdout.total,
          stderrChars: stderr.total,
          durationMs: Date.now() - started,
        });
      });
    });
  });
  return { result, kill: (signal = "SIGKILL") => killGroup(signal) };
}

/**
 * One output stream: decoded as UTF-8 across chunk boundaries, sent on in pieces (at most every
 * {@link STREAM_INTERVAL_MS}, at most {@link EXEC_LIMITS.streamedChars} in all), and kept as a
 * head and a tail for the answer, with the total counted.
 */
class CappedStream {
  readonly #send: (text: string) => void;
  readonly #decoder = new StringDecoder("utf8");
  #head = "";
  #tail = "";
  #pending = "";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #streamed = 0;
  total = 0;

  constructor(send: (text: string) => void) {
    this.#send = send;
  }

  add(data: Buffer): void {
    this.#keep(this.#decoder.write(data));
  }

  end(): void {
    this.#keep(this.#decoder.end());
    this.#flush();
  }

  /** The whole stream when it fits, else its head and tail around a note of what was left out. */
  kept(): string {
    return keptStream(this.#head, this.#tail, this.total);
  }

  #keep(text: string): void {
    if (!text) return;
    this.total += text.length;
    const half = EXEC_LIMITS.keptChars / 2;
    const toHead = text.slice(0, Math.max(0, half - this.#head.length));
    this.#head += toHead;
    this.#tail = (this.#tail + text.slice(toHead.length)).slice(-half);
    const room = EXEC_LIMITS.streamedChars - this.#streamed;
    if (room <= 0) return;
    this.#pending += text.slice(0, room);
    this.#streamed += Math.min(room, text.length);
    this.#timer ??= setTimeout(() => this.#flush(), STREAM_INTERVAL_MS);
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#pending) return;
    const text = this.#pending;
    this.#pending = "";
    this.#send(text);
  }
}
