import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WorkspaceFs, type WorkspaceFsOptions } from "../../src/workspace-do/engine.ts";
import { SCHEMA_VERSION } from "../../src/workspace-do/schema.ts";
import { grep } from "../../src/workspace-do/search.ts";
import { durableObjectSql } from "../../src/workspace-do/sql-durable-object.ts";
import { DOWNGRADE_TO_V1_SQL, DOWNGRADE_TO_V4_SQL } from "./schema-v1.ts";
import { engineSuite } from "./suite.ts";

describe("engine in a SQLite Durable Object", () => {
  engineSuite({
    async withStorage(body) {
      const stub = env.WORKSPACE.get(env.WORKSPACE.newUniqueId());
      await runInDurableObject(stub, async (_instance, state) => {
        await body((options?: WorkspaceFsOptions) => new WorkspaceFs(durableObjectSql(state.storage), options));
      });
    },
  });
});

describe("engine in a SQLite Durable Object, older databases", () => {
  it("migrates a version-1 database (reference counts in the chunk rows)", async () => {
    const stub = env.WORKSPACE.get(env.WORKSPACE.newUniqueId());
    await runInDurableObject(stub, async (_instance, state) => {
      const sql = durableObjectSql(state.storage);
      const fs = new WorkspaceFs(sql, { chunkSize: 8 });
      fs.writeFile("/a.txt", "shared content");
      fs.writeFile("/b.txt", "shared content");
      sql.script(DOWNGRADE_TO_V1_SQL);
      const migrated = new WorkspaceFs(sql);
      expect(sql.one<{ value: number }>("SELECT value FROM meta WHERE key = 'schema_version'")!.value).toBe(SCHEMA_VERSION);
      expect(migrated.stat("/a.txt").rdev).toBe(0);
      migrated.rm("/a.txt");
      expect(migrated.readFile("/b.txt", { encoding: "utf8" })).toBe("shared content");
      expect(migrated.usage()).toMatchObject({ chunks: 2, storedBytes: 14 });
    });
  });

  it("migrates a version-4 database (no content index), building the index as it is searched", async () => {
    const stub = env.WORKSPACE.get(env.WORKSPACE.newUniqueId());
    await runInDurableObject(stub, async (_instance, state) => {
      const sql = durableObjectSql(state.storage);
      const fs = new WorkspaceFs(sql);
      for (let i = 0; i < 3; i++) fs.writeFile(`/f${i}.txt`, i === 1 ? "the needle\n" : `hay ${i}\n`);
      sql.script(DOWNGRADE_TO_V4_SQL);
      const migrated = new WorkspaceFs(sql);
      expect(sql.one<{ value: number }>("SELECT value FROM meta WHERE key = 'schema_version'")!.value).toBe(SCHEMA_VERSION);
      expect(migrated.usage().contentIndex).toMatchObject({ files: 0, complete: false });
      expect(grep(migrated, { pattern: "needle", mode: "files" }).files).toEqual([{ path: "/f1.txt" }]);
      expect(migrated.usage().contentIndex).toMatchObject({ files: 3, complete: true });
    });
  });
});
