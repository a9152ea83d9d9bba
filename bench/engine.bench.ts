/**
 * WorkspaceFs micro-benchmark against a raw node:sqlite floor. See bench/README.md.
 *
 *   npm run bench            # table on stdout, progress on stderr
 *   npm run bench -- --json  # machine-readable results on stdout
 *
 * Every measurement runs on a file-backed database (WAL, synchronous=NORMAL) in a fresh temp
 * directory, engine and floor interleaved, REPS times after an unrecorded warm-up; the table
 * shows the median.
 */

import { benchBigFile, bigFileRows } from "./engine/big-file.ts";
import { diagnose } from "./engine/diagnostics.ts";
import { benchFiles, fileRows } from "./engine/files.ts";
import { BIG, FILES, log, REPS, REWRITES } from "./engine/fixtures.ts";
import { benchGrep, grepRow } from "./engine/grep.ts";
import { benchMkdir, mkdirTree } from "./engine/mkdir.ts";
import { printResults } from "./engine/report.ts";
import { checks } from "./engine/rows.ts";
import { benchStream, streamRows } from "./engine/stream.ts";
import { gc, KiB, MiB, randomBytes } from "./util.ts";

const JSON_OUTPUT = process.argv.includes("--json");

/** The table's rows, in order. */
const measures = [...streamRows, ...fileRows, mkdirTree, ...bigFileRows, grepRow];

async function main(): Promise<void> {
  const started = performance.now();
  // The streamed write runs first, in child processes, so RSS is measured in a clean process.
  const children = benchStream();

  // Warm-up, not recorded: JIT-compile the engine and floor paths on small inputs.
  log("warm-up…");
  const data = randomBytes(BIG);
  const patches = Array.from({ length: REWRITES + 5 }, (_, i) => {
    const patch = randomBytes(4 * KiB);
    new DataView(patch.buffer).setUint32(0, i);
    return patch;
  });
  benchFiles(1_000, false);
  benchMkdir(false);
  benchBigFile(data.subarray(0, 4 * MiB), patches, 20, false);

  for (let rep = 1; rep <= REPS; rep++) {
    log(`rep ${rep}/${REPS}: 10,000 files (create, stat, readdir, unlink)…`);
    benchFiles(FILES, true);
    log(`rep ${rep}/${REPS}: mkdir tree 10x10x10…`);
    benchMkdir(true);
    log(`rep ${rep}/${REPS}: 64 MiB file (write, read, 4 KiB rewrites)…`);
    benchBigFile(data, patches, REWRITES, true);
    gc();
  }
  await benchGrep();
  const diagnostics = diagnose();
  const totalSeconds = (performance.now() - started) / 1000;

  printResults(measures, diagnostics, children, totalSeconds, JSON_OUTPUT);
  if (checks.some((c) => !c.ok)) process.exitCode = 1;
}

await main();
