/**
 * The replica's bound: a burst of rewrites that never goes quiet keeps its garbage under the
 * bound, and the quiet period's housekeeping gives the freed space back to the file system.
 * A real node:sqlite file and the engine wsd uses, without a mount or a server.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { eventually } from "../../harness/eventually.ts";
import { WorkspaceFs } from "../../src/workspace-do/engine.ts";
import { openNodeSql } from "../../src/workspace-do/sql-node.ts";
import { Housekeeper } from "../../src/wsd/housekeeper.ts";

const dir = mkdtempSync(join(tmpdir(), "wsd-housekeeper-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1024 * 1024;
const fileBytes = (path: string) => ["", "-wal"].reduce((sum, suffix) => sum + (statSync(path + suffix, { throwIfNoEntry: false })?.size ?? 0), 0);

/**
 * A replica opened as wsd opens it (the WAL copied back only past 256 MiB unless the housekeeper
 * does it sooner), with a housekeeper poked by every change.
 */
function keptReplica(path: string, walKeepBytes: number, timing: ConstructorParameters<typeof Housekeeper>[2]) {
  const database = openNodeSql(path, { incrementalVacuum: true, walAutocheckpointPages: 65_536, exclusive: true, walKeepBytes });
  let housekeeper: Housekeeper | undefined;
  const replica = new WorkspaceFs(database, { deferChunkFrees: true, onChange: () => housekeeper?.poke() });
  housekeeper = new Housekeeper(
    () => replica,
    () => database,
    timing,
  );
  return { database, replica, housekeeper };
}

describe("Housekeeper", () => {
  it("keeps a burst of rewrites under the garbage bound and gives the space back once quiet", async () => {
    const path = join(dir, "replica.db");
    const { database, replica, housekeeper } = keptReplica(path, 1 * MiB, {
      idleMs: 200,
      checkpointQuietMs: 50,
      walReleaseMs: 300,
      garbagePerSlice: 8,
      garbageBoundBytes: 4 * MiB,
      vacuumAboveBytes: 1 * MiB,
    });
    const content = new Uint8Array(240 * 1024);
    let mostGarbage = 0;
    let mostOnDisk = 0;
    // 400 rewrites of a 240 KiB file with new content each time: 94 MiB of garbage if nothing collected it.
    for (let i = 0; i < 400; i++) {
      content.fill(i % 251);
      content[0] = i >> 8;
      replica.writeFile("/hot.bin", content);
      mostGarbage = Math.max(mostGarbage, replica.garbageBytes);
      mostOnDisk = Math.max(mostOnDisk, fileBytes(path));
      await nextTurn();
    }
    // A slice runs between writes, so the garbage stays within a slice or two of the bound.
    expect(mostGarbage).toBeLessThan(8 * MiB);
    // And the WAL is cut back as it passes the bound: the file never holds the burst (94 MiB).
    expect(mostOnDisk).toBeLessThan(24 * MiB);
    const afterBurst = fileBytes(path);
    await eventually(() => expect(housekeeper.pending).toBe(false));
    expect(replica.garbageBytes).toBe(0);
    expect(database.vacuumStep(1)).toBe(0);
    // What stays is the live file and the tables around it, not the burst; the WAL kept for
    // the next writes is given back once the mount has rested.
    expect(statSync(path).size).toBeLessThan(2 * MiB);
    expect(database.walBytes()).toBe(0);
    expect(fileBytes(path)).toBeLessThan(afterBurst);
    expect(replica.readFile("/hot.bin")).toEqual(content);
    database.close();
  });

  it("waits for a pause in requests too: a mount that only reads is never slowed by housekeeping", async () => {
    const database = openNodeSql(join(dir, "reading.db"), { incrementalVacuum: true, exclusive: true });
    const replica = new WorkspaceFs(database, { deferChunkFrees: true });
    let lastRequestAt = Date.now();
    const housekeeper = new Housekeeper(
      () => replica,
      () => database,
      { idleMs: 200, checkpointQuietMs: 50, walReleaseMs: 100, garbagePerSlice: 8, garbageBoundBytes: 64 * MiB, vacuumAboveBytes: 1 * MiB },
      { lastRequestAt: () => lastRequestAt },
    );
    // Eight distinct chunks (2 MiB): a pattern that does not repeat at the chunk size.
    replica.writeFile(
      "/gone.bin",
      Uint8Array.from({ length: 2 * MiB }, (_, i) => i % 251),
    );
    replica.unlink("/gone.bin");
    housekeeper.poke();
    // Reads keep coming (no change): for three quiet periods nothing is collected.
    const readsUntil = Date.now() + 600;
    while (Date.now() < readsUntil) {
      lastRequestAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(replica.garbageBytes).toBe(2 * MiB);
    expect(housekeeper.pending).toBe(true);
    // Once the reads stop, it runs.
    await eventually(() => expect(housekeeper.pending).toBe(false));
    expect(replica.garbageBytes).toBe(0);
    database.close();
  });

  it("copies the WAL back after a short pause once much was written, so the next write reuses its blocks", async () => {
    // Idle housekeeping (garbage, vacuum) is far off: only the early checkpoint can run.
    const { database, replica, housekeeper } = keptReplica(join(dir, "early.db"), 64 * MiB, {
      idleMs: 60_000,
      checkpointQuietMs: 50,
      walReleaseMs: 60_000,
      garbagePerSlice: 8,
      garbageBoundBytes: 256 * MiB,
      vacuumAboveBytes: 64 * MiB,
    });
    const content = (seed: number, bytes = 20 * MiB) => Uint8Array.from({ length: bytes }, (_, i) => (i * 7 + seed) % 251);
    const pause = () => new Promise((resolve) => setTimeout(resolve, 300));
    // 4 MiB is not worth a checkpoint: the WAL goes on growing after it.
    replica.writeFile("/small.bin", content(0, 4 * MiB));
    await pause();
    replica.writeFile("/a.bin", content(1));
    const afterBoth = database.walBytes();
    expect(afterBoth).toBeGreaterThan(24 * MiB);
    // 24 MiB is: copied back after the pause, the next write goes over the same WAL blocks.
    await pause();
    replica.writeFile("/b.bin", content(2));
    expect(database.walBytes()).toBe(afterBoth);
    expect(replica.garbageBytes).toBe(0);
    expect(replica.readFile("/b.bin")).toEqual(content(2));
    housekeeper.stop();
    database.close();
  });

  it("converts a replica made without incremental vacuum when it is opened", () => {
    const path = join(dir, "old.db");
    const old = openNodeSql(path);
    new WorkspaceFs(old).writeFile("/kept.txt", "kept");
    old.close();
    const reopened = openNodeSql(path, { incrementalVacuum: true });
    expect(reopened.one<{ auto_vacuum: number }>("PRAGMA auto_vacuum")!.auto_vacuum).toBe(2);
    expect(new WorkspaceFs(reopened).readFile("/kept.txt", { encoding: "utf8" })).toBe("kept");
    reopened.close();
  });
});
