/** The result rows (one per operation, engine and floor samples) and the correctness checks made on the side. */
import { median } from "../util.ts";
import { log } from "./fixtures.ts";

export type Unit = "ops/s" | "MB/s" | "ms" | "MiB";

export interface Measure {
  id: string;
  label: string;
  unit: Unit;
  /** Per-rep figures in `unit`. */
  engine: number[];
  floor: number[];
  /** What the floor does, in one line. */
  floorDoes: string;
  /** Extra figure shown next to the median, e.g. entries/s for readdir. */
  detail?: (value: number) => string;
  target?: { text: string; met: (engine: number) => boolean };
  /** Whether engine/floor as a time ratio makes sense. */
  noRatio?: boolean;
}

export const checks: { what: string; ok: boolean; detail: string }[] = [];

/** A row of the table, with no samples yet (the entry lists the rows in table order). */
export function measure(m: Omit<Measure, "engine" | "floor">): Measure {
  return { ...m, engine: [], floor: [] };
}

export function check(what: string, ok: boolean, detail = ""): void {
  checks.push({ what, ok, detail });
  if (!ok) log(`CHECK FAILED: ${what} ${detail}`);
}

export const opsPerSec = (count: number, ms: number) => (count * 1000) / ms;
export const mbPerSec = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

/** How many times longer the engine takes than the floor. */
export function timeRatio(m: Measure): number | undefined {
  if (m.noRatio || m.floor.length === 0 || m.engine.length === 0) return undefined;
  const engine = median(m.engine);
  const floor = median(m.floor);
  return m.unit === "ms" ? engine / floor : floor / engine;
}
