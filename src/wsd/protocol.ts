import type { ChangeEntry, ChangePage } from "../workspace-do/engine.ts";

/**
 * The wire between a workspace's Durable Object and wsd: one capnweb session over a WebSocket
 * at `/w/<workspace>/wsd`, opened by wsd (so it works from any sandbox) with the workspace's
 * bearer token. Both sides implement these interfaces in code; see docs/03-sync-protocol.md.
 */

/** What the object serves. */
export interface WorkspaceSyncApi {
  /**
   * Registers `peer` for change notifications under `peerId` (stable across its restarts: a
   * path it pushed last is never its own conflict); answers the current revision and the chunk size.
   */
  hello(peer: WsdPeer, peerId: string, about?: WsdInfo): { rev: number; chunkSize: number };
  /** The change log after `since`: one entry per path in its latest state, chunk hashes not bytes. */
  pull(since: number, limit?: number): ChangePage;
  /** The bytes of stored chunks, in order; stops early so one answer carries at most {@link MAX_MESSAGE_BYTES}. */
  chunks(hashes: string[]): Uint8Array[];
  /** Of `hashes`, those the object lacks: what wsd uploads before it pushes. */
  missing(hashes: string[]): string[];
  /** Holds chunks for this session's next push (at most {@link MAX_MESSAGE_BYTES} per call); answers their hashes. */
  upload(chunks: Uint8Array[]): string[];
  /**
   * Applies wsd's local changes as one batch. A path the object changed after the entry's
   * `base` (the object revision wsd last had for it) is a conflict: the object's version stays,
   * and a file's other version is kept beside it (`keptAs`). Nothing is dropped silently.
   */
  push(changes: PushedChange[]): PushResult;
}

export interface PushedChange {
  entry: ChangeEntry;
  base: number;
}

export interface PushResult {
  /** The object's revision after the push. */
  rev: number;
  applied: string[];
  conflicts: { path: string; keptAs?: string }[];
}

/** How a wsd describes itself in `hello`: what `exec` chooses by and tells a user. */
export interface WsdInfo {
  /** Chosen with `--name` (default: the host name); exec picks a wsd by it. */
  name: string;
  /** False when started with `--no-exec`. */
  exec: boolean;
  /** Where the workspace is mounted in the sandbox. */
  mountpoint: string;
}

/** What wsd offers the object in return (passed to `hello`, called back by reference). */
export interface WsdPeer {
  /** The workspace reached revision `rev`: pull when behind. */
  changed(rev: number): void;
  /**
   * Runs a command in the mount. Before it starts, the replica holds revision `request.rev`
   * and every older local change has been pushed (`output.started()` marks that point); before
   * this answers, every change the command made in the mount has been pushed to the object.
   * Output streams to `output` as it comes; the answer repeats it, capped.
   */
  exec(request: ExecRequest, output: ExecOutput): Promise<ExecResult>;
  /** Signals a running command's whole process group (default SIGKILL). */
  kill(id: string, signal?: string): void;
}

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

export const EXEC_LIMITS = {
  defaultTimeoutMs: 120_000,
  maxTimeoutMs: 30 * 60_000,
  /** Characters of each stream kept for the answer, half from the start and half from the end. */
  keptChars: 64 * 1024,
  /** Characters of each stream sent to `output` as it runs; the rest is only counted. */
  streamedChars: 1024 * 1024,
  maxStdinChars: 10 * 1024 * 1024,
} as const;

/** Bytes per message: capnweb frames are base64 JSON, capped at 32 MiB; 1 MiB keeps them small. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
