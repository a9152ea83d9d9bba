/** What every part of the engine bench shares: the run's sizes, progress output, temp dirs and engines. */
import { join } from "node:path";
import { WorkspaceFs } from "../../src/workspace-do/engine.ts";
import { openNodeSql } from "../../src/workspace-do/sql-node.ts";
import { KiB, MiB, makeTempDir, removeTempDir } from "../util.ts";

export const REPS = 3;
export const FILES = 10_000;
export const BIG = 64 * MiB;
export const CHUNK = 256 * KiB; // the engine's default chunk size
export const REWRITES = 100;
export const REWRITE_OFFSET = 32 * MiB + 64 * KiB; // inside chunk 128, away from its edges
export const GREP_FILES = 1_000;
export const encoder = new TextEncoder();

export const log = (message: string) => process.stderr.write(`${message}\n`);

export interface EngineDb {
  fs: WorkspaceFs;
  path: string;
  close(): void;
}

export function openEngine(dir: string): EngineDb {
  const path = join(dir, "ws.db");
  const sql = openNodeSql(path);
  return { fs: new WorkspaceFs(sql), path, close: () => sql.close() };
}

/** Runs `fn` with a fresh temp dir and removes the dir afterwards. */
export function inTempDir<T>(label: string, fn: (dir: string) => T): T {
  const dir = makeTempDir(label);
  try {
    return fn(dir);
  } finally {
    removeTempDir(dir);
  }
}
