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
import { spawnSync } from "node:child_process";
import { availableParallelism, cpus, totalmem } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { hashChunk } from "../src/workspace-do/chunks.ts";
import { WorkspaceFs } from "../src/workspace-do/engine.ts";
import type { SqlDriver, SqlValue } from "../src/workspace-do/sql.ts";
import { openNodeSql } from "../src/workspace-do/sql-node.ts";
import { DIRECTORY, RawDb, ROOT_INO } from "./raw.ts";
import type { StreamResult } from "./stream-child.ts";
import { gc, KiB, MiB, makeTempDir, median, peakRssMiB, randomBytes, removeTempDir, timeSync } from "./util.ts";

const JSON_OUTPUT = process.argv.includes("--json");
const REPS = 3;
const FILES = 10_000;
const BIG = 64 * MiB;
const CHUNK = 256 * KiB; // the engine's default chunk size
const REWRITES = 100;
const REWRITE_OFFSET = 32 * MiB + 64 * KiB; // inside chunk 128, away from its edges
const GREP_FILES = 1_000;
const encoder = new TextEncoder();

const log = (message: string) => process.stderr.write(`${message}\n`);

// ---- result rows ------------------------------------------------------------------------------

type Unit = "ops/s" | "MB/s" | "ms" | "MiB";

interface Measure {
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

const measures: Measure[] = [];
const checks: { what: string; ok: boolean; detail: string }[] = [];

function measure(m: Omit<Measure, "engine" | "floor">): Measure {
  const row: Measure = { ...m, engine: [], floor: [] };
  measures.push(row);
  return row;
}

function check(what: string, ok: boolean, detail = ""): void {
  checks.push({ what, ok, detail });
  if (!ok) log(`CHECK FAILED: ${what} ${detail}`);
}

const opsPerSec = (count: number, ms: number) => (count * 1000) / ms;
const mbPerSec = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

/** How many times longer the engine takes than the floor. */
function timeRatio(m: Measure): number | undefined {
  if (m.noRatio || m.floor.length === 0 || m.engine.length === 0) return undefined;
  const engine = median(m.engine);
  const floor = median(m.floor);
  return m.unit === "ms" ? engine / floor : floor / engine;
}

// ---- fixtures ---------------------------------------------------------------------------------

interface EngineDb {
  fs: WorkspaceFs;
  path: string;
  close(): void;
}

function openEngine(dir: string): EngineDb {
  const path = join(dir, "ws.db");
  const sql = openNodeSql(path);
  return { fs: new WorkspaceFs(sql), path, close: () => sql.close() };
}

/** Runs `fn` with a fresh temp dir and removes the dir afterwards. */
function inTempDir<T>(label: string, fn: (dir: string) => T): T {
  const dir = makeTempDir(label);
  try {
    return fn(dir);
  } finally {
    removeTempDir(dir);
  }
}

// ---- 1. streamed write, in child processes ----------------------------------------------------

function streamChild(mode: StreamResult["mode"], pieces: StreamResult["pieces"]): StreamResult {
  return inTempDir("stream", (dir) => {
    const child = fileURLToPath(new URL("./stream-child.ts", import.meta.url));
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

function benchStream(): StreamResult[] {
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

// ---- 2. 10,000 small files at depth 3: create, stat, readdir, unlink ---------------------------

const fileNames = Array.from({ length: FILES }, (_, i) => `f${String(i).padStart(5, "0")}`);
const filePaths = fileNames.map((name) => `/d1/d2/d3/${name}`);
const fileTexts = fileNames.map((name, i) => `content of ${name}: ${i * 7919}\n`);
const sizeSum = (n: number) => fileTexts.slice(0, n).reduce((sum, text) => sum + encoder.encode(text).byteLength, 0);
const READDIRS = 5;

const create = measure({
  id: "create_10k_files",
  label: "create 10,000 files (writeFile)",
  unit: "ops/s",
  floorDoes: "1 txn per file: inode + dirent + chunk + file_chunks rows, parent mtime update",
  target: { text: ">= 10,000/s", met: (v) => v >= 10_000 },
});
const statFirst = measure({
  id: "stat_10k_depth3_first",
  label: "stat 10,000 at depth 3, 1st pass",
  unit: "ops/s",
  floorDoes: "per name (d1,d2,d3,fNNNNN) a dirents JOIN inodes lookup, then SELECT * FROM inodes",
  target: { text: ">= 50,000/s", met: (v) => v >= 50_000 },
});
const statRepeat = measure({
  id: "stat_10k_depth3_repeat",
  label: "stat 10,000 at depth 3, 2nd pass",
  unit: "ops/s",
  floorDoes: "ino from a JS Map path -> ino (as the engine's warm dir cache), then SELECT * FROM inodes",
  target: { text: ">= 50,000/s", met: (v) => v >= 50_000 },
});
const readdir = measure({
  id: "readdir_10k_entries",
  label: "readdir of 10,000 entries",
  unit: "ms",
  floorDoes: "the same dirents JOIN inodes query, rows as returned (no sort, no mapping)",
  detail: (ms) => `${Math.round(FILES / (ms / 1000) / 1000)}k ent/s`,
});
const unlink = measure({
  id: "unlink_10k_files",
  label: "rm 10,000 files (unlink each)",
  unit: "ops/s",
  floorDoes: "1 txn per file: dirent lookup, delete dirent/file_chunks/chunk/inode, parent mtime",
});

/** `n` files at /d1/d2/d3: create, stat twice, readdir, unlink; engine then floor. */
function benchFiles(n: number, record: boolean): void {
  const push = (list: number[], value: number) => void (record && list.push(value));
  const expectedSizes = sizeSum(n);
  inTempDir("files", (dir) => {
    const { fs, close } = openEngine(dir);
    try {
      fs.mkdir("/d1/d2/d3", { recursive: true });
      push(
        create.engine,
        opsPerSec(
          n,
          timeSync(() => {
            for (let i = 0; i < n; i++) fs.writeFile(filePaths[i]!, fileTexts[i]!);
          }),
        ),
      );
      for (const row of [statFirst, statRepeat]) {
        let sizes = 0;
        push(
          row.engine,
          opsPerSec(
            n,
            timeSync(() => {
              for (let i = 0; i < n; i++) sizes += fs.stat(filePaths[i]!).size;
            }),
          ),
        );
        check("engine stat sizes add up", sizes === expectedSizes, `${sizes} vs ${expectedSizes}`);
      }
      const times: number[] = [];
      for (let i = 0; i < READDIRS; i++) {
        let count = 0;
        times.push(timeSync(() => void (count = fs.readdir("/d1/d2/d3").length)));
        check("engine readdir lists every file", count === n);
      }
      push(readdir.engine, median(times));
      push(
        unlink.engine,
        opsPerSec(
          n,
          timeSync(() => {
            for (let i = 0; i < n; i++) fs.unlink(filePaths[i]!);
          }),
        ),
      );
      const usage = fs.usage();
      check("engine unlink leaves no files or chunks", usage.files === 0 && usage.chunks === 0, JSON.stringify(usage));
    } finally {
      close();
    }
  });

  inTempDir("files-raw", (dir) => {
    const raw = new RawDb(join(dir, "raw.db"));
    try {
      const d3 = raw.mkdir(raw.mkdir(raw.mkdir(ROOT_INO, "d1"), "d2"), "d3");
      push(
        create.floor,
        opsPerSec(
          n,
          timeSync(() => {
            for (let i = 0; i < n; i++) raw.createFile(d3, fileNames[i]!, encoder.encode(fileTexts[i]!), CHUNK);
          }),
        ),
      );
      let sizes = 0;
      push(
        statFirst.floor,
        opsPerSec(
          n,
          timeSync(() => {
            for (let i = 0; i < n; i++) sizes += raw.stat(filePaths[i]!).size as number;
          }),
        ),
      );
      check("floor stat sizes add up", sizes === expectedSizes);
      // The 2nd-pass floor is what the engine's warm directory cache leaves: one inode row.
      const inoOf = new Map(filePaths.slice(0, n).map((path) => [path, raw.stat(path).ino as number]));
      sizes = 0;
      push(
        statRepeat.floor,
        opsPerSec(
          n,
          timeSync(() => {
            for (let i = 0; i < n; i++) sizes += (raw.q("SELECT * FROM inodes WHERE ino = ?").get(inoOf.get(filePaths[i]!)!) as { size: number }).size;
          }),
        ),
      );
      check("floor stat (known ino) sizes add up", sizes === expectedSizes);
      const times: number[] = [];
      for (let i = 0; i < READDIRS; i++) {
        let count = 0;
        times.push(timeSync(() => void (count = raw.children(d3).length)));
        check("floor readdir lists every file", count === n);
      }
      push(readdir.floor, median(times));
      push(
        unlink.floor,
        opsPerSec(
          n,
          timeSync(() => {
            for (let i = 0; i < n; i++) raw.unlink(d3, fileNames[i]!);
          }),
        ),
      );
      const left = raw.q("SELECT (SELECT count(*) FROM chunks) + (SELECT count(*) FROM dirents WHERE parent = ?) AS n").get(d3) as { n: number };
      check("floor unlink leaves nothing", left.n === 0);
    } finally {
      raw.close();
    }
  });
}

// ---- 3. mkdir tree 10x10x10 ------------------------------------------------------------------

const treeDirs: { path: string; parent: string; name: string }[] = [];
for (let a = 0; a < 10; a++) {
  treeDirs.push({ path: `/a${a}`, parent: "/", name: `a${a}` });
  for (let b = 0; b < 10; b++) {
    treeDirs.push({ path: `/a${a}/b${b}`, parent: `/a${a}`, name: `b${b}` });
    for (let c = 0; c < 10; c++) treeDirs.push({ path: `/a${a}/b${b}/c${c}`, parent: `/a${a}/b${b}`, name: `c${c}` });
  }
}
const mkdirTree = measure({
  id: "mkdir_tree_10x10x10",
  label: "mkdir tree 10x10x10 (1,110 dirs)",
  unit: "ops/s",
  floorDoes: "1 txn per dir: inode + dirent rows, parent nlink/mtime update (parent ino known)",
});

function benchMkdir(record: boolean): void {
  const push = (list: number[], value: number) => void (record && list.push(value));
  inTempDir("mkdir", (dir) => {
    const { fs, close } = openEngine(dir);
    try {
      push(
        mkdirTree.engine,
        opsPerSec(
          treeDirs.length,
          timeSync(() => {
            for (const { path } of treeDirs) fs.mkdir(path);
          }),
        ),
      );
      check("engine made 1,111 directories", fs.usage().directories === treeDirs.length + 1);
      check("engine nlink of /a0 is 12", fs.stat("/a0").nlink === 12);
    } finally {
      close();
    }
  });
  inTempDir("mkdir-raw", (dir) => {
    const raw = new RawDb(join(dir, "raw.db"));
    try {
      const inos = new Map<string, number>([["/", ROOT_INO]]);
      push(
        mkdirTree.floor,
        opsPerSec(
          treeDirs.length,
          timeSync(() => {
            for (const { path, parent, name } of treeDirs) inos.set(path, raw.mkdir(inos.get(parent)!, name));
          }),
        ),
      );
      const n = raw.q("SELECT count(*) AS n FROM inodes WHERE type = ?").get(DIRECTORY) as { n: number };
      check("floor made 1,111 directories", n.n === treeDirs.length + 1);
    } finally {
      raw.close();
    }
  });
}

// ---- 4. one 64 MiB file: write, read, 4 KiB rewrites -------------------------------------------

const writeBig = measure({
  id: "write_64mib",
  label: "write 64 MiB (one writeFile)",
  unit: "MB/s",
  floorDoes: "1 txn: inode + dirent + 256 chunk rows (256 KiB blobs) + 256 file_chunks rows; no hashing",
  target: { text: ">= 100 MB/s", met: (v) => v >= 100 },
});
const hashing = measure({
  id: "sha256_64mib",
  label: "  of which: sha-256 of 64 MiB",
  unit: "MB/s",
  floorDoes: "(engine only: hashChunk over the 256 chunks, no SQL)",
  noRatio: true,
});
const readBig = measure({
  id: "read_64mib",
  label: "read 64 MiB (readFile whole)",
  unit: "MB/s",
  floorDoes: "the same file_chunks JOIN chunks query, copied into one 64 MiB buffer",
  target: { text: ">= 500 MB/s", met: (v) => v >= 500 },
});
const rewrite = measure({
  id: "rewrite_4kib_in_64mib",
  label: "rewrite 4 KiB mid 64 MiB (fs.write)",
  unit: "ops/s",
  floorDoes: "1 txn: read the 256 KiB chunk, patch, insert as new chunk row, repoint file_chunks, delete old",
});
let oneChunkPerRewrite = true;
rewrite.target = { text: "touches 1 chunk", met: () => oneChunkPerRewrite };

/** A `size` file (at least 2 chunks past REWRITE_OFFSET when full size): write, read, rewrites. */
function benchBigFile(data: Uint8Array, patches: Uint8Array[], rewrites: number, record: boolean): void {
  const push = (list: number[], value: number) => void (record && list.push(value));
  const size = data.byteLength;
  const offset = Math.min(REWRITE_OFFSET, size / 2 + 64 * KiB);
  const chunkIndex = Math.floor(offset / CHUNK);
  push(
    hashing.engine,
    mbPerSec(
      size,
      timeSync(() => {
        for (let at = 0; at < size; at += CHUNK) hashChunk(data.subarray(at, at + CHUNK));
      }),
    ),
  );

  inTempDir("big", (dir) => {
    const { fs, path, close } = openEngine(dir);
    const side = new DatabaseSync(path, { readOnly: true });
    try {
      push(
        writeBig.engine,
        mbPerSec(
          size,
          timeSync(() => fs.writeFile("/big", data)),
        ),
      );
      let out: Uint8Array = new Uint8Array(0);
      push(
        readBig.engine,
        mbPerSec(
          size,
          timeSync(() => void (out = fs.readFile("/big"))),
        ),
      );
      check("engine read returns what was written", Buffer.compare(out, data) === 0);
      out = new Uint8Array(0);

      // Untimed: each of a few rewrites replaces exactly one chunk row (and the right one).
      const ino = fs.stat("/big").ino;
      const hashesOf = () => (side.prepare("SELECT hash FROM file_chunks WHERE ino = ? ORDER BY idx").all(ino) as { hash: string }[]).map((r) => r.hash);
      const chunkRows = () => (side.prepare("SELECT count(*) AS n FROM chunks").get() as { n: number }).n;
      const changed = (a: string[], b: string[]) => a.flatMap((hash, i) => (hash === b[i] ? [] : [i]));
      for (let i = rewrites; i < rewrites + 5; i++) {
        const before = { hashes: hashesOf(), rows: chunkRows(), usage: fs.usage().chunks };
        fs.write("/big", patches[i]!, offset);
        const after = { hashes: hashesOf(), rows: chunkRows(), usage: fs.usage().chunks };
        const diff = changed(before.hashes, after.hashes);
        const ok =
          diff.length === 1 &&
          diff[0] === chunkIndex &&
          after.hashes.length === before.hashes.length &&
          after.rows === before.rows &&
          after.usage === before.usage &&
          after.rows === size / CHUNK;
        oneChunkPerRewrite &&= ok;
        check("a 4 KiB rewrite replaces exactly one chunk row", ok, `changed indexes ${diff.join(",")}; chunk rows ${before.rows} -> ${after.rows}`);
      }
      const start = { hashes: hashesOf(), rows: chunkRows() };
      push(
        rewrite.engine,
        opsPerSec(
          rewrites,
          timeSync(() => {
            for (let i = 0; i < rewrites; i++) fs.write("/big", patches[i]!, offset);
          }),
        ),
      );
      const end = { hashes: hashesOf(), rows: chunkRows() };
      const diff = changed(start.hashes, end.hashes);
      const ok = diff.length === 1 && diff[0] === chunkIndex && end.rows === start.rows;
      oneChunkPerRewrite &&= ok;
      check(`timed rewrites changed only chunk ${chunkIndex}, chunk row count unchanged`, ok, `changed ${diff.join(",")}; rows ${start.rows} -> ${end.rows}`);
      const back = fs.readFile("/big", { byteOffset: offset - 1, byteLength: 4 * KiB + 2 });
      check(
        "engine rewrite reads back",
        back[0] === data[offset - 1] &&
          Buffer.compare(back.subarray(1, 4 * KiB + 1), patches[rewrites - 1]!) === 0 &&
          back[4 * KiB + 1] === data[offset + 4 * KiB],
      );
    } finally {
      side.close();
      close();
    }
  });

  inTempDir("big-raw", (dir) => {
    const raw = new RawDb(join(dir, "raw.db"));
    try {
      let ino = 0;
      push(
        writeBig.floor,
        mbPerSec(
          size,
          timeSync(() => void (ino = raw.createFile(ROOT_INO, "big", data, CHUNK))),
        ),
      );
      let out: Uint8Array = new Uint8Array(0);
      push(
        readBig.floor,
        mbPerSec(
          size,
          timeSync(() => void (out = raw.readFile(ino, CHUNK))),
        ),
      );
      check("floor read returns what was written", Buffer.compare(out, data) === 0);
      out = new Uint8Array(0);
      push(
        rewrite.floor,
        opsPerSec(
          rewrites,
          timeSync(() => {
            for (let i = 0; i < rewrites; i++) raw.rewrite(ino, chunkIndex, offset - chunkIndex * CHUNK, patches[i]!);
          }),
        ),
      );
      const rows = raw.q("SELECT count(*) AS n FROM chunks").get() as { n: number };
      check("floor rewrites kept the chunk row count", rows.n === size / CHUNK);
    } finally {
      raw.close();
    }
  });
}

// ---- 5. grep across 1,000 files -------------------------------------------------------------

interface GrepModule {
  grep(
    fs: WorkspaceFs,
    options: { pattern: string; path?: string; mode?: "lines" | "files" | "count"; limit?: number },
  ): {
    files?: { path: string; count?: number }[];
    filesSearched: number;
  };
}

async function loadGrep(): Promise<GrepModule["grep"] | undefined> {
  // A computed specifier, so the bench still loads (and typechecks) if search.ts goes away.
  const specifier = new URL("../src/workspace-do/search.ts", import.meta.url).href;
  try {
    const module = (await import(specifier)) as Partial<GrepModule>;
    return typeof module.grep === "function" ? module.grep : undefined;
  } catch {
    return undefined;
  }
}

/** ~6 KB of text per file, 100 lines; every 10th file has one line matching /needle_\d+/. */
function grepCorpus(): { dir: string; name: string; text: string }[] {
  return Array.from({ length: GREP_FILES }, (_, i) => {
    const lines = Array.from({ length: 100 }, (_, j) =>
      j === 50 && i % 10 === 0
        ? `    const found = lookup(needle_${i}, haystack); // line ${j}`
        : `    const value${j} = compute(${i * 100 + j}, "lorem ipsum dolor sit amet"); // line ${j}`,
    );
    return { dir: `d${String(Math.floor(i / 100)).padStart(2, "0")}`, name: `file${String(i).padStart(4, "0")}.ts`, text: `${lines.join("\n")}\n` };
  });
}

async function benchGrep(): Promise<void> {
  const grep = await loadGrep();
  const row = measure({
    id: "grep_1000_files",
    label: "grep 1,000 files (~6 MB, count mode)",
    unit: "ms",
    floorDoes: "children query per dir + 1 chunk query per file, decode, split lines, same RegExp",
    detail: (ms) => `${Math.round(GREP_FILES / (ms / 1000))} files/s`,
  });
  if (!grep) {
    // TODO(bench): search.ts has no exported grep(fs, options) yet; this row is skipped.
    log("grep: skipped, src/workspace-do/search.ts exports no grep() yet");
    row.label += " SKIPPED: no grep() yet";
    return;
  }
  log("grep across 1,000 files…");
  const corpus = grepCorpus();
  const pattern = "needle_\\d+";
  const regex = new RegExp(pattern);
  const GREPS = 5;
  for (let rep = 0; rep < REPS; rep++) {
    inTempDir("grep", (dir) => {
      const { fs, close } = openEngine(dir);
      try {
        for (const { dir: sub, name, text } of corpus) {
          if (!fs.exists(`/src/${sub}`)) fs.mkdir(`/src/${sub}`, { recursive: true });
          fs.writeFile(`/src/${sub}/${name}`, text);
        }
        const times: number[] = [];
        // The first grep warms the JIT (and the directory cache) and is not counted.
        for (let i = 0; i <= GREPS; i++) {
          let result: ReturnType<GrepModule["grep"]> | undefined;
          const ms = timeSync(() => void (result = grep(fs, { pattern, path: "/", mode: "count", limit: GREP_FILES })));
          if (i > 0) times.push(ms);
          check(
            "engine grep finds 100 files of 1,000",
            result?.filesSearched === GREP_FILES && result.files?.length === GREP_FILES / 10,
            `searched ${result?.filesSearched}, matched ${result?.files?.length}`,
          );
        }
        row.engine.push(median(times));
      } finally {
        close();
      }
    });
    inTempDir("grep-raw", (dir) => {
      const raw = new RawDb(join(dir, "raw.db"));
      try {
        const src = raw.mkdir(ROOT_INO, "src");
        const subdirs = new Map<string, number>();
        for (const { dir: sub, name, text } of corpus) {
          if (!subdirs.has(sub)) subdirs.set(sub, raw.mkdir(src, sub));
          raw.createFile(subdirs.get(sub)!, name, encoder.encode(text), CHUNK);
        }
        const times: number[] = [];
        for (let i = 0; i <= GREPS; i++) {
          let searched = 0;
          let matched = 0;
          const visit = (ino: number) => {
            for (const child of raw.children(ino)) {
              if (child.type === DIRECTORY) {
                visit(child.ino);
                continue;
              }
              searched++;
              const decoder = new TextDecoder();
              let pending = "";
              let count = 0;
              for (const { data } of raw.contentRows(child.ino)) {
                const parts = (pending + decoder.decode(data, { stream: true })).split("\n");
                pending = parts.pop()!;
                for (const line of parts) if (regex.test(line)) count++;
              }
              pending += decoder.decode();
              if (pending !== "" && regex.test(pending)) count++;
              if (count > 0) matched++;
            }
          };
          const ms = timeSync(() => visit(ROOT_INO));
          if (i > 0) times.push(ms);
          check("floor grep finds 100 files of 1,000", searched === GREP_FILES && matched === GREP_FILES / 10);
        }
        row.floor.push(median(times));
      } finally {
        raw.close();
      }
    });
  }
}

// ---- 6. diagnostics: SQL statements and WAL pages per operation (untimed) ----------------------

interface Cost {
  statements: number;
  walPages: number;
}

interface Diagnosis {
  op: string;
  n: number;
  engine: Cost;
  floor: Cost;
}

/** A SqlDriver that counts the statements (and transactions, as one each) it runs while `on`. */
function countingDriver(inner: SqlDriver): SqlDriver & { on: boolean; count: number } {
  const driver = {
    on: false,
    count: 0,
    all: (query: string, ...params: SqlValue[]) => {
      if (driver.on) driver.count++;
      return inner.all(query, ...params);
    },
    one: (query: string, ...params: SqlValue[]) => {
      if (driver.on) driver.count++;
      return inner.one(query, ...params);
    },
    run: (query: string, ...params: SqlValue[]) => {
      if (driver.on) driver.count++;
      return inner.run(query, ...params);
    },
    script: (sql: string) => inner.script(sql),
    transaction: <T>(fn: () => T): T => {
      if (driver.on) driver.count++;
      return inner.transaction(fn);
    },
  };
  return driver as SqlDriver & { on: boolean; count: number };
}

/**
 * Runs `ops` with auto-checkpoint off on a just-truncated WAL, then reads how many frames
 * (pages) the WAL gained: what the operations wrote, page by page, before any checkpoint.
 */
function walPagesOf(exec: (sql: string) => void, get: (sql: string) => Record<string, unknown>, ops: () => void): number {
  exec("PRAGMA wal_autocheckpoint = 0");
  get("PRAGMA wal_checkpoint(TRUNCATE)");
  ops();
  const { log: frames } = get("PRAGMA wal_checkpoint(PASSIVE)") as { log: number };
  exec("PRAGMA wal_autocheckpoint = 1000");
  return frames;
}

function diagnose(): Diagnosis[] {
  log("diagnostics: statements and WAL pages per operation…");
  const N = 200;
  const results: Diagnosis[] = [];
  const engineCosts = new Map<string, Cost>();
  const floorCosts = new Map<string, Cost>();
  const bigSize = 64 * MiB;
  const big = randomBytes(bigSize);
  const patch = randomBytes(4 * KiB);
  const chunkIndex = Math.floor(REWRITE_OFFSET / CHUNK);

  inTempDir("diag", (dir) => {
    const path = join(dir, "ws.db");
    const base = openNodeSql(path);
    const sql = countingDriver(base);
    const fs = new WorkspaceFs(sql);
    const exec = (q: string) => base.script(q);
    const get = (q: string) => base.one(q)!;
    const measureOps = (op: string, ops: () => void) => {
      sql.count = 0;
      const walPages = walPagesOf(exec, get, () => {
        sql.on = true;
        ops();
        sql.on = false;
      });
      engineCosts.set(op, { statements: sql.count / N, walPages: walPages / N });
    };
    try {
      fs.mkdir("/d1/d2/d3", { recursive: true });
      fs.mkdir("/t");
      measureOps("create small file", () => {
        for (let i = 0; i < N; i++) fs.writeFile(filePaths[i]!, fileTexts[i]!);
      });
      measureOps("stat, 1st", () => {
        for (let i = 0; i < N; i++) fs.stat(filePaths[i]!);
      });
      measureOps("stat, 2nd", () => {
        for (let i = 0; i < N; i++) fs.stat(filePaths[i]!);
      });
      measureOps("unlink", () => {
        for (let i = 0; i < N; i++) fs.unlink(filePaths[i]!);
      });
      measureOps("mkdir", () => {
        for (let i = 0; i < N; i++) fs.mkdir(`/t/${fileNames[i]}`);
      });
      fs.writeFile("/big", big);
      measureOps("rewrite 4 KiB of 64 MiB", () => {
        for (let i = 0; i < N; i++)
          fs.write(
            "/big",
            patch.map((b) => b ^ i),
            REWRITE_OFFSET,
          );
      });
    } finally {
      base.close();
    }
  });

  inTempDir("diag-raw", (dir) => {
    const raw = new RawDb(join(dir, "raw.db"));
    const exec = (q: string) => raw.db.exec(q);
    const get = (q: string) => raw.db.prepare(q).get() as Record<string, unknown>;
    const measureOps = (op: string, ops: () => void) => {
      const before = raw.statements;
      const walPages = walPagesOf(exec, get, ops);
      floorCosts.set(op, { statements: (raw.statements - before) / N, walPages: walPages / N });
    };
    try {
      const d3 = raw.mkdir(raw.mkdir(raw.mkdir(ROOT_INO, "d1"), "d2"), "d3");
      const t = raw.mkdir(ROOT_INO, "t");
      measureOps("create small file", () => {
        for (let i = 0; i < N; i++) raw.createFile(d3, fileNames[i]!, encoder.encode(fileTexts[i]!), CHUNK);
      });
      measureOps("stat, 1st", () => {
        for (let i = 0; i < N; i++) raw.stat(filePaths[i]!);
      });
      const inoOf = new Map(filePaths.slice(0, N).map((path) => [path, raw.stat(path).ino as number]));
      measureOps("stat, 2nd", () => {
        for (let i = 0; i < N; i++) raw.q("SELECT * FROM inodes WHERE ino = ?").get(inoOf.get(filePaths[i]!)!);
      });
      measureOps("unlink", () => {
        for (let i = 0; i < N; i++) raw.unlink(d3, fileNames[i]!);
      });
      measureOps("mkdir", () => {
        for (let i = 0; i < N; i++) raw.mkdir(t, fileNames[i]!);
      });
      const ino = raw.createFile(ROOT_INO, "big", big, CHUNK);
      measureOps("rewrite 4 KiB of 64 MiB", () => {
        for (let i = 0; i < N; i++)
          raw.rewrite(
            ino,
            chunkIndex,
            REWRITE_OFFSET - chunkIndex * CHUNK,
            patch.map((b) => b ^ i),
          );
      });
    } finally {
      raw.close();
    }
  });

  for (const [op, engine] of engineCosts) results.push({ op, n: N, engine, floor: floorCosts.get(op)! });
  return results;
}

// ---- report -----------------------------------------------------------------------------------

function sqliteVersion(): string {
  const db = new DatabaseSync(":memory:");
  try {
    return (db.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v;
  } finally {
    db.close();
  }
}

function format(value: number, unit: Unit): string {
  if (unit === "ms") return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
  if (unit === "MiB") return `${value.toFixed(1)} MiB`;
  if (unit === "MB/s") return `${value.toFixed(0)} MB/s`;
  return `${Math.round(value).toLocaleString("en-US")}/s`;
}

/** A short form for the range column: 54.2k, 12.3, 480. */
function compact(value: number, unit: Unit): string {
  if (unit === "ops/s") return value >= 1000 ? `${(value / 1000).toFixed(1)}k` : value.toFixed(0);
  return value < 100 ? value.toFixed(1) : value.toFixed(0);
}

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

  const machine = {
    date: new Date().toISOString(),
    node: process.version,
    sqlite: sqliteVersion(),
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    platform: `${process.platform} ${process.arch}`,
  };
  const rows = measures.map((m) => {
    const engine = m.engine.length ? median(m.engine) : undefined;
    const floor = m.floor.length ? median(m.floor) : undefined;
    return {
      id: m.id,
      label: m.label.trim(),
      unit: m.unit,
      engine: engine ?? null,
      floor: floor ?? null,
      engineSamples: m.engine,
      floorSamples: m.floor,
      /** How many times longer the engine takes than the floor (null where it means nothing). */
      timeRatio: timeRatio(m) ?? null,
      floorDoes: m.floorDoes,
      target: m.target && engine !== undefined ? { text: m.target.text, met: m.target.met(engine) } : null,
    };
  });
  const peakRss = {
    mainMiB: peakRssMiB(),
    streamChildMaxMiB: Math.max(...children.map((c) => c.maxRssMiB)),
  };

  if (JSON_OUTPUT) {
    console.log(JSON.stringify({ machine, reps: REPS, totalSeconds, results: rows, diagnostics, checks, peakRss }, null, 2));
  } else {
    const table: string[][] = [["operation", "engine", "floor", "engine/floor time", "engine range", "target", "met"]];
    for (const m of measures) {
      const engine = m.engine.length ? median(m.engine) : undefined;
      const floor = m.floor.length ? median(m.floor) : undefined;
      const ratio = timeRatio(m);
      const cell = (v: number | undefined) => (v === undefined ? "—" : format(v, m.unit) + (m.detail ? ` (${m.detail(v)})` : ""));
      table.push([
        m.label,
        cell(engine),
        cell(floor),
        ratio === undefined ? "—" : `${ratio.toFixed(2)}x`,
        m.engine.length > 1 ? `${compact(Math.min(...m.engine), m.unit)}–${compact(Math.max(...m.engine), m.unit)}` : "",
        m.target?.text ?? "",
        m.target && engine !== undefined ? (m.target.met(engine) ? "yes" : "NO") : "",
      ]);
    }
    const widths = table[0]!.map((_, col) => Math.max(...table.map((r) => r[col]!.length)));
    const line = (r: string[]) => r.map((c, col) => (col === 0 ? c.padEnd(widths[col]!) : c.padStart(widths[col]!))).join("  ");
    console.log(
      `WorkspaceFs bench — ${machine.date.slice(0, 10)}, node ${machine.node}, sqlite ${machine.sqlite}, ${machine.cpus} cpus (${machine.cpuModel}), median of ${REPS}`,
    );
    console.log();
    console.log(line(table[0]!));
    console.log(widths.map((w) => "-".repeat(w)).join("  "));
    for (const r of table.slice(1)) console.log(line(r));
    console.log();
    console.log("floor = plain node:sqlite (WAL, synchronous=NORMAL, same tables), doing:");
    for (const m of measures) console.log(`  ${m.label.trim()}: ${m.floorDoes}`);
    console.log();
    console.log("per operation, untimed (N = 200 each): SQL statements (a transaction counts as 1) / WAL pages written");
    const diag: string[][] = [["operation", "engine stmts", "floor stmts", "engine WAL pages", "floor WAL pages"]];
    for (const d of diagnostics) {
      diag.push([d.op, d.engine.statements.toFixed(1), d.floor.statements.toFixed(1), d.engine.walPages.toFixed(1), d.floor.walPages.toFixed(1)]);
    }
    const diagWidths = diag[0]!.map((_, col) => Math.max(...diag.map((r) => r[col]!.length)));
    for (const r of diag) console.log(`  ${r.map((c, col) => (col === 0 ? c.padEnd(diagWidths[col]!) : c.padStart(diagWidths[col]!))).join("  ")}`);
    console.log();
    console.log(
      `peak RSS: bench process ${peakRss.mainMiB.toFixed(0)} MiB (holds the 64 MiB test buffer and a 64 MiB read), stream child ${peakRss.streamChildMaxMiB.toFixed(0)} MiB`,
    );
    const failed = checks.filter((c) => !c.ok);
    console.log(`checks: ${checks.length - failed.length}/${checks.length} passed${failed.length ? `; FAILED: ${failed.map((c) => c.what).join("; ")}` : ""}`);
    console.log(`total ${totalSeconds.toFixed(0)} s`);
  }
  if (checks.some((c) => !c.ok)) process.exitCode = 1;
}

await main();
