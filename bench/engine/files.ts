/** 2. 10,000 small files at depth 3: create, stat, readdir, unlink. */
import { join } from "node:path";
import { RawDb, ROOT_INO } from "../raw.ts";
import { median, timeSync } from "../util.ts";
import { CHUNK, encoder, FILES, inTempDir, openEngine } from "./fixtures.ts";
import { check, measure, opsPerSec } from "./rows.ts";

export const fileNames = Array.from({ length: FILES }, (_, i) => `f${String(i).padStart(5, "0")}`);
export const filePaths = fileNames.map((name) => `/d1/d2/d3/${name}`);
export const fileTexts = fileNames.map((name, i) => `content of ${name}: ${i * 7919}\n`);
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
export function benchFiles(n: number, record: boolean): void {
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

/** The table's rows for the small files, in order. */
export const fileRows = [create, statFirst, statRepeat, readdir, unlink];
