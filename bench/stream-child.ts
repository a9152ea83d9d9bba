/**
 * One streamed 64 MiB write in a process of its own, so its RSS growth is not hidden by the
 * rest of the benchmark. Run by the engine bench (bench/engine/stream.ts) as
 *   node --expose-gc --experimental-strip-types bench/stream-child.ts <mode> <pieces> <dir>
 * with mode `engine` (WorkspaceFs.writeFileStream), `floor` (raw node:sqlite) or `source`
 * (only drain the generator: what the source's own garbage costs), and pieces `fresh` (a new
 * 64 KiB buffer per piece, as from a socket) or `reuse` (one buffer refilled each time: the
 * writer's own footprint). Prints one JSON line (see {@link StreamResult}).
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { WorkspaceFs } from "../src/workspace-do/engine.ts";
import { openNodeSql } from "../src/workspace-do/sql-node.ts";
import { FILE, RawDb, ROOT_INO } from "./raw.ts";
import { gc, KiB, MiB, randomBytes } from "./util.ts";

export interface StreamResult {
  mode: "engine" | "floor" | "source";
  pieces: "fresh" | "reuse";
  bytes: number;
  ms: number;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  rssGrowthMiB: number;
  /** Peak RSS of the whole child process (getrusage), MiB. */
  maxRssMiB: number;
  verified: boolean;
}

const TOTAL = 64 * MiB;
const PIECE = 64 * KiB;
const CHUNK = 256 * KiB;

const mode = process.argv[2];
const pieces = process.argv[3];
const dir = process.argv[4];
if ((mode !== "engine" && mode !== "floor" && mode !== "source") || (pieces !== "fresh" && pieces !== "reuse") || !dir) {
  console.error("usage: stream-child.ts <engine|floor|source> <fresh|reuse> <dir>");
  process.exit(2);
}

// Pieces are 64 KiB cut from a 1 MiB random pool and stamped with their index, so no two
// 256 KiB chunks are equal.
const pool = randomBytes(MiB);
const reused = new Uint8Array(PIECE);
const piece = (index: number): Uint8Array => {
  const bytes = pieces === "reuse" ? reused : new Uint8Array(PIECE);
  bytes.set(pool.subarray((index * PIECE) % MiB, ((index * PIECE) % MiB) + PIECE));
  new DataView(bytes.buffer).setUint32(0, index);
  return bytes;
};
const pieceCount = TOTAL / PIECE;

let peak = 0;
const sample = () => {
  const rss = process.memoryUsage.rss();
  if (rss > peak) peak = rss;
};

async function* source(): AsyncGenerator<Uint8Array> {
  for (let index = 0; index < pieceCount; index++) {
    sample();
    yield piece(index);
  }
  sample();
}

const expectedHash = () => {
  const hash = createHash("sha256");
  for (let index = 0; index < pieceCount; index++) hash.update(piece(index));
  return hash.digest("hex");
};

let ms: number;
let before: number;
let verified: boolean;
if (mode === "engine") {
  const sql = openNodeSql(join(dir, "ws.db"));
  const fs = new WorkspaceFs(sql);
  fs.writeFile("/warm", "warm-up");
  gc();
  before = process.memoryUsage.rss();
  peak = before;
  const start = performance.now();
  await fs.writeFileStream("/big", source());
  ms = performance.now() - start;
  sample();
  const hash = createHash("sha256");
  for (const chunk of fs.chunksOf("/big")) hash.update(chunk);
  verified = fs.stat("/big").size === TOTAL && hash.digest("hex") === expectedHash();
  sql.close();
} else if (mode === "source") {
  gc();
  before = process.memoryUsage.rss();
  peak = before;
  const start = performance.now();
  const hash = createHash("sha256");
  for await (const bytes of source()) hash.update(bytes);
  ms = performance.now() - start;
  sample();
  verified = hash.digest("hex") === expectedHash();
} else {
  // Floor: the same 64 KiB -> 256 KiB re-buffering, one transaction per chunk inserting the
  // chunk row and its file_chunks row, then one transaction setting the size.
  const raw = new RawDb(join(dir, "raw.db"));
  gc();
  before = process.memoryUsage.rss();
  peak = before;
  const start = performance.now();
  const now = Date.now();
  const ino = raw.tx(() => {
    const ino = raw.insertInode(FILE, 0o644, 0, now);
    raw.insertDirent(ROOT_INO, "big", ino);
    return ino;
  });
  const buffer = new Uint8Array(CHUNK);
  let filled = 0;
  let idx = 0;
  let size = 0;
  const stage = (data: Uint8Array) =>
    raw.tx(() => {
      const key = raw.key();
      raw.insertChunk(key, data);
      raw.insertFileChunk(ino, idx++, key);
    });
  for await (const bytes of source()) {
    size += bytes.byteLength;
    for (let offset = 0; offset < bytes.byteLength; ) {
      const take = Math.min(bytes.byteLength - offset, CHUNK - filled);
      buffer.set(bytes.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === CHUNK) {
        stage(buffer);
        filled = 0;
      }
    }
  }
  if (filled > 0) stage(buffer.subarray(0, filled));
  raw.tx(() => raw.q("UPDATE inodes SET size = ?, mtime = ? WHERE ino = ?").run(size, Date.now(), ino));
  ms = performance.now() - start;
  sample();
  const hash = createHash("sha256");
  for (const row of raw.contentRows(ino)) hash.update(row.data);
  verified = size === TOTAL && hash.digest("hex") === expectedHash();
  raw.close();
}

const result: StreamResult = {
  mode,
  pieces,
  bytes: TOTAL,
  ms,
  rssBeforeMiB: before / MiB,
  rssPeakMiB: peak / MiB,
  rssGrowthMiB: (peak - before) / MiB,
  maxRssMiB: process.resourceUsage().maxRSS / 1024,
  verified,
};
console.log(JSON.stringify(result));
