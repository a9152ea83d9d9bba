import { expect } from "vitest";
import { hashChunk } from "../../../src/workspace-do/chunks.ts";
import type { WorkspaceFs, WorkspaceFsOptions } from "../../../src/workspace-do/engine.ts";
import { type ErrnoCode, FsError } from "../../../src/workspace-do/errors.ts";

/**
 * The engine's behaviour, written once and run on both hosts: Node (`node:sqlite`) and workerd
 * (a real SQLite-backed Durable Object).
 */
export interface EngineHost {
  /**
   * Runs `body` against fresh, empty storage. `open` makes an engine over that storage; call it
   * again to reopen the same database, as a restarted host would.
   */
  withStorage(body: (open: (options?: WorkspaceFsOptions) => WorkspaceFs) => void | Promise<void>): Promise<void>;
}

export const text = (fs: WorkspaceFs, path: string) => fs.readFile(path, { encoding: "utf8" });

export function expectError(fn: () => unknown, code: ErrnoCode, path?: string): FsError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(FsError);
  const error = caught as FsError;
  expect(error.code).toBe(code);
  if (path !== undefined) expect(error.path).toBe(path);
  expect(error.message.startsWith(`${code}: `)).toBe(true);
  return error;
}

export async function expectRejection(promise: Promise<unknown>, code: ErrnoCode): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(FsError);
  await expect(promise).rejects.toMatchObject({ code });
}

/** Everything observable about a tree, to prove a failed operation changed nothing. */
export function snapshot(fs: WorkspaceFs) {
  const entries = [...fs.walk("/")].map((entry) => {
    const stats = fs.lstat(entry.path);
    const content = entry.type === "file" ? hashChunk(fs.readFile(entry.path)) : entry.type === "symlink" ? fs.readlink(entry.path) : "";
    return { ...entry, stats, content };
  });
  return { entries, usage: fs.usage(), changes: fs.changesSince(0, { limit: 100_000 }) };
}

export function bytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  return out;
}

export function clock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms = 1000) => (now += ms) };
}

export async function* pieces(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < data.byteLength; offset += size) yield data.subarray(offset, offset + size);
}

/** What each area of the suite registers its tests with. */
export interface SuiteContext {
  host: EngineHost;
  /** Runs `body` on one engine over fresh storage. */
  run(body: (fs: WorkspaceFs) => void | Promise<void>, options?: WorkspaceFsOptions): Promise<void>;
}

/** Chunks of 8 bytes, so a few bytes of content span several chunks. */
export const small = { chunkSize: 8 };
