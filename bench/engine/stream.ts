/**
 * 1. The streamed write, in child processes (`bench/stream-child.ts`), so each RSS figure comes
 * from a clean process.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { StreamResult } from "../stream-child.ts";
import { inTempDir, log, REPS } from "./fixtures.ts";
import { check, mbPerSec, measure } from "./rows.ts";

function streamChild(mode: StreamResult["mode"], pieces: StreamResult["pieces"]): StreamResult {
  return inTempDir("stream", (dir) => {
    const child = fileURLToPath(new URL("../stream-child.ts", import.meta.url));
    const run = spawnSync(process.execPath, ["--no-warnings", "--experimental-strip-types", "--expose-gc", child, mode, pieces, dir], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`stream child ${mode} ${pieces} failed (${run.status}):\n${run.stderr}`);
    return JSON.parse(run.stdout.trim().split("\n").pop()!) as StreamResult;
  });
}

const streamSpeed = measure({
  id: "stream_write_64mib",
  label: "streamed write 64 MiB (64 KiB pieces)",
  unit: "MB/s",
  floorDoes: "same 64K->256K re-buffering; 1 txn per chunk: chunk row + file_chunks row; 1 txn sets size",
});
const streamRss = measure({
  id: "stream_write_rss_growth",
  label: "  RSS growth during it (fresh pieces)",
  unit: "MiB",
  floorDoes: "RSS growth of the floor run above",
  noRatio: true,
  target: { text: "< 32 MiB", met: (v) => v < 32 },
});
const streamRssReuse = measure({
  id: "stream_write_rss_growth_reused_piece",
  label: "  RSS growth, source reuses 1 buffer",
  unit: "MiB",
  floorDoes: "(engine only: its own footprint without the source's garbage)",
  noRatio: true,
});
const streamRssSource = measure({
  id: "stream_source_rss_growth",
  label: "  RSS growth, source alone (no write)",
  unit: "MiB",
  floorDoes: "(drains the same fresh-piece generator into sha-256, writes nothing)",
  noRatio: true,
});

export function benchStream(): StreamResult[] {
  log("streamed write 64 MiB (child processes)…");
  const children: StreamResult[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    for (const [mode, pieces] of [
      ["engine", "fresh"],
      ["floor", "fresh"],
      ["engine", "reuse"],
      ["source", "fresh"],
    ] as const) {
      const result = streamChild(mode, pieces);
      children.push(result);
      check(`streamed write ${mode}/${pieces} content read back intact`, result.verified);
      if (mode === "engine" && pieces === "fresh") {
        streamSpeed.engine.push(mbPerSec(result.bytes, result.ms));
        streamRss.engine.push(result.rssGrowthMiB);
      } else if (mode === "floor") {
        streamSpeed.floor.push(mbPerSec(result.bytes, result.ms));
        streamRss.floor.push(result.rssGrowthMiB);
      } else if (mode === "engine") {
        streamRssReuse.engine.push(result.rssGrowthMiB);
      } else {
        streamRssSource.engine.push(result.rssGrowthMiB);
      }
    }
  }
  return children;
}

/** The table's rows for the streamed write, in order. */
export const streamRows = [streamSpeed, streamRss, streamRssReuse, streamRssSource];
