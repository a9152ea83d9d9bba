import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hashChunk } from "../../src/workspace-do/chunks.ts";
import { WorkspaceFs, type WorkspaceFsOptions } from "../../src/workspace-do/engine.ts";
import { SCHEMA_VERSION } from "../../src/workspace-do/schema.ts";
import { grep } from "../../src/workspace-do/search.ts";
import { openNodeSql } from "../../src/workspace-do/sql-node.ts";
import { DOWNGRADE_TO_V1_SQL, DOWNGRADE_TO_V4_SQL } from "./schema-v1.ts";
import { engineSuite } from "./suite.ts";

const dir = mkdtempSync(join(tmpdir(), "engine-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let databases = 0;

describe("engine on node:sqlite", () => {
  engineSuite({
    async withStorage(body) {
      const file = join(dir, `ws-${databases++}.db`);
      const drivers: ReturnType<typeof openNodeSql>[] = [];
      try {
        await body((options?: WorkspaceFsOptions) => {
          const sql = openNodeSql(file);
          drivers.push(sql);
          return new WorkspaceFs(sql, options);
        });
      } finally {
        for (const sql of drivers) sql.close();
      }
    },
  });
});

describe("engine on node:sqlite, large files", () => {
  it("writes a 64 MiB stream holding one chunk at a time, then reads it back as a stream", async () => {
    const sql = openNodeSql(join(dir, "large.db"));
    const fs = new WorkspaceFs(sql);
    const piece = new Uint8Array(64 * 1024);
    const total = 64 * 1024 * 1024;
    const expected = (await import("node:crypto")).createHash("sha256");
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = 0;
    async function* source() {
      for (let offset = 0; offset < total; offset += piece.byteLength) {
        // One reused buffer: any growth in memory is the engine's own.
        piece.fill((offset / piece.byteLength) & 0xff);
        expected.update(piece);
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
        yield piece;
      }
    }
    await fs.writeFileStream("/big.bin", source());
    expect(fs.stat("/big.bin").size).toBe(total);
    expect(peak).toBeLessThan(32 * 1024 * 1024);
    const actual = (await import("node:crypto")).createHash("sha256");
    for await (const chunk of fs.readFileStream("/big.bin")) actual.update(chunk);
    expect(actual.digest("hex")).toBe(expected.digest("hex"));
    // 1,024 pieces cycle through 256 fill bytes, so the 256 chunks of 256 KiB repeat every 64: stored once.
    expect(fs.usage()).toMatchObject({ chunks: 64, storedBytes: total / 4, dedupSavedBytes: (total * 3) / 4 });
    expect(fs.readFile("/big.bin", { byteOffset: total - 3, byteLength: 3 })).toEqual(new Uint8Array([255, 255, 255]));
    expect(hashChunk(fs.readFile("/big.bin", { byteOffset: 0, byteLength: 65536 }))).toBe(hashChunk(new Uint8Array(65536)));
    sql.close();
  });
});

describe("engine on node:sqlite, older databases", () => {
  it("migrates a version-1 database whose chunks carried their own reference counts", () => {
    const file = join(dir, "v1.db");
    const first = openNodeSql(file);
    const fs = new WorkspaceFs(first, { chunkSize: 8 });
    fs.writeFile("/a.txt", "shared content");
    fs.writeFile("/b.txt", "shared content");
    fs.writeFile("/c.txt", "own");
    first.script(DOWNGRADE_TO_V1_SQL);
    first.close();

    const sql = openNodeSql(file);
    try {
      const migrated = new WorkspaceFs(sql);
      expect(sql.one<{ value: number }>("SELECT value FROM meta WHERE key = 'schema_version'")!.value).toBe(SCHEMA_VERSION);
      expect(migrated.readFile("/a.txt", { encoding: "utf8" })).toBe("shared content");
      expect(migrated.stat("/a.txt").rdev).toBe(0);
      expect(migrated.usage()).toMatchObject({ chunks: 3, storedBytes: 17 });
      // Counts carried over: one shared chunk loses a reference and stays, the other goes with its last.
      migrated.rm("/a.txt");
      expect(migrated.readFile("/b.txt", { encoding: "utf8" })).toBe("shared content");
      migrated.rm("/c.txt");
      expect(migrated.usage()).toMatchObject({ chunks: 2, storedBytes: 14 });
      migrated.writeFile("/d.txt", "new after the migration");
      expect(migrated.readFile("/d.txt", { encoding: "utf8" })).toBe("new after the migration");
    } finally {
      sql.close();
    }
  });

  it("migrates a version-4 database (no content index): grep reads every file until searches have built the index", () => {
    const file = join(dir, "v4.db");
    const first = openNodeSql(file);
    const fs = new WorkspaceFs(first);
    for (let i = 0; i < 5; i++) fs.writeFile(`/f${i}.txt`, i === 3 ? "the needle\n" : `hay ${i}\n`);
    first.script(DOWNGRADE_TO_V4_SQL);
    first.close();

    const sql = openNodeSql(file);
    try {
      const migrated = new WorkspaceFs(sql, { contentIndex: { buildBatch: 2 } });
      expect(sql.one<{ value: number }>("SELECT value FROM meta WHERE key = 'schema_version'")!.value).toBe(SCHEMA_VERSION);
      expect(migrated.usage().contentIndex).toMatchObject({ files: 0, complete: false });
      expect(grep(migrated, { pattern: "needle", mode: "files" }).files).toEqual([{ path: "/f3.txt" }]);
      expect(migrated.usage().contentIndex).toMatchObject({ files: 2, complete: false });
      expect(migrated.buildContentIndex()).toBe(1);
      migrated.writeFile("/f0.txt", "rewritten");
      expect(migrated.buildContentIndex()).toBe(0);
      expect(migrated.usage().contentIndex).toMatchObject({ files: 5, complete: true });
      expect(grep(migrated, { pattern: "needle", mode: "files" })).toMatchObject({ files: [{ path: "/f3.txt" }], filesSearched: 1 });
    } finally {
      sql.close();
    }
  });
});
