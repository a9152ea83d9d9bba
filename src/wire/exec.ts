/**
 * The exec half of the wire between a workspace's Durable Object and wsd: what `WsdPeer.exec`
 * (in `./sync.ts`) is asked to run, how its output streams back, what it answers, and the
 * limits both ends and the exec tool hold to. See docs/04-exec.md.
 */

/** One command for a wsd to run in its mount, as the object sends it. */
export interface ExecRequest {
  /** Names this run for `kill`. */
  id: string;
  /** A shell string run by `sh -c`, or an argv run as is. */
  command: string | string[];
  /** A directory of the workspace (default `/`), as the file tools name it. */
  cwd?: string;
  /** Added to wsd's environment. */
  env?: Record<string, string>;
  stdin?: string;
  /** The whole process group is killed after this long (default {@link EXEC_LIMITS.defaultTimeoutMs}). */
  timeoutMs?: number;
  /** The object's revision when exec was called: the command sees at least this state. */
  rev: number;
}

/** The object's receiver for a running command. */
export interface ExecOutput {
  /** The barrier is passed and the command is about to start. */
  started(): void;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** How a command ended, with its output capped; the object adds what it changed. */
export interface ExecResult {
  /** The exit code, or null when a signal ended the command. */
  exitCode: number | null;
  signal: string | null;
  /** True when the timeout killed it. */
  timedOut: boolean;
  /** Head and tail of each stream, within {@link EXEC_LIMITS.keptChars}; the totals say what ran. */
  stdout: string;
  stderr: string;
  stdoutChars: number;
  stderrChars: number;
  durationMs: number;
}

/**
 * A stream as a result keeps it: whole when it fits in {@link EXEC_LIMITS.keptChars}, else its
 * first and last halves around a note of what was left out. `head` and `tail` are those halves
 * (the whole stream when it fits), `total` its length.
 */
export function keptStream(head: string, tail: string, total: number): string {
  if (total <= EXEC_LIMITS.keptChars) return head + tail;
  return `${head}\n… ${total - head.length - tail.length} characters left out …\n${tail}`;
}

/** Timeouts and output caps of exec, held by wsd and offered by the exec tool's schema. */
export const EXEC_LIMITS = {
  defaultTimeoutMs: 120_000,
  maxTimeoutMs: 30 * 60_000,
  /** Characters of each stream kept for the answer, half from the start and half from the end. */
  keptChars: 64 * 1024,
  /** Characters of each stream sent to `output` as it runs; the rest is only counted. */
  streamedChars: 1024 * 1024,
  maxStdinChars: 10 * 1024 * 1024,
} as const;
