/** 6. Diagnostics, untimed: the SQL statements and WAL pages of each operation, engine and floor. */
import { join } from "node:path";
import { WorkspaceFs } from "../../src/workspace-do/engine.ts";
import type { SqlDriver, SqlValue } from "../../src/workspace-do/sql.ts";
import { openNodeSql } from "../../src/workspace-do/sql-node.ts";
import { RawDb, ROOT_INO } from "../raw.ts";
import { KiB, MiB, randomBytes } from "../util.ts";
import { fileNames, filePaths, fileTexts } from "./files.ts";
import { CHUNK, encoder, inTempDir, log, REWRITE_OFFSET } from "./fixtures.ts";

interface Cost {
  statements: number;
  walPages: number;
}

export interface Diagnosis {
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

export function diagnose(): Diagnosis[] {
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
