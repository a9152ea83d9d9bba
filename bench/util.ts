/** Small helpers shared by the benchmark and its child process. */

import { randomFillSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const KiB = 1024;
export const MiB = 1024 * 1024;

const liveDirs = new Set<string>();
let cleanupInstalled = false;

/** A fresh temp directory, removed by {@link removeTempDir} or, failing that, at exit. */
export function makeTempDir(label: string): string {
  if (!cleanupInstalled) {
    cleanupInstalled = true;
    process.on("exit", removeAllTempDirs);
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, () => {
        removeAllTempDirs();
        process.exit(130);
      });
    }
  }
  const dir = mkdtempSync(join(tmpdir(), `wsfs-bench-${label}-`));
  liveDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

function removeAllTempDirs(): void {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

/** Milliseconds `fn` takes. */
export function timeSync(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

export async function timeAsync(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function gc(): void {
  globalThis.gc?.();
}

/** Random bytes, so no two chunks are equal and nothing dedups. */
export function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  // randomFillSync caps one call at 2 GiB; fill in 16 MiB steps to stay well under that.
  for (let offset = 0; offset < size; offset += 16 * MiB) randomFillSync(out.subarray(offset, Math.min(size, offset + 16 * MiB)));
  return out;
}

/** Peak resident set size of this process so far, in MiB. */
export const peakRssMiB = () => process.resourceUsage().maxRSS / 1024;

export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of a set of samples. */
export function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
  return {
    n: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}
