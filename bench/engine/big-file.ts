/** 4. One 64 MiB file: write, read, 4 KiB rewrites (each checked to touch exactly one chunk). */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { hashChunk } from "../../src/workspace-do/chunks.ts";
import { RawDb, ROOT_INO } from "../raw.ts";
import { KiB, timeSync } from "../util.ts";
import { CHUNK, inTempDir, openEngine, REWRITE_OFFSET } from "./fixtures.ts";
import { check, mbPerSec, measure, opsPerSec } from "./rows.ts";

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
export function benchBigFile(data: Uint8Array, patches: Uint8Array[], rewrites: number, record: boolean): void {
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

/** The table's rows for the 64 MiB file, in order. */
export const bigFileRows = [writeBig, hashing, readBig, rewrite];
