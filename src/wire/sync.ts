import type { ChangeEntry, ChangePage } from "../workspace-do/engine.ts";
import type { ExecOutput, ExecRequest, ExecResult } from "./exec.ts";

/**
 * The wire between a workspace's Durable Object and wsd: one capnweb session over a WebSocket
 * at `/w/<workspace>/wsd`, opened by wsd (so it works from any sandbox) with the workspace's
 * bearer token. Both sides implement these interfaces in code; see docs/03-sync-protocol.md.
 * The calls that run a command in the sandbox (`WsdPeer.exec`) carry the types of `./exec.ts`.
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

/** One local change wsd pushes, with the object revision it was based on. */
export interface PushedChange {
  entry: ChangeEntry;
  base: number;
}

/** The object's answer to a push: what it applied and where it kept both versions. */
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

/** Bytes per message: capnweb frames are base64 JSON, capped at 32 MiB; 1 MiB keeps them small. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
