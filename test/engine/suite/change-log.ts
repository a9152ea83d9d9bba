import { describe, expect, it } from "vitest";
import { hashChunk } from "../../../src/workspace-do/chunks.ts";
import type { ChangeEntry } from "../../../src/workspace-do/engine.ts";
import { bytes, expectError, type SuiteContext, small, snapshot } from "./helpers.ts";

/** The change log sync reads, and what survives reopening the storage. */
export function describeChangeLog({ host, run }: SuiteContext): void {
  describe("change log", () => {
    const live = (entry: ChangeEntry | undefined) => entry as Extract<ChangeEntry, { deleted: false }>;

    it("stamps one new revision per mutation and none for a failed one", () =>
      run((fs) => {
        expect(fs.rev).toBe(0);
        fs.mkdir("/d");
        expect(fs.rev).toBe(1);
        fs.writeFile("/d/f", "x");
        expect(fs.rev).toBe(2);
        expectError(() => fs.mkdir("/d"), "EEXIST");
        expectError(() => fs.writeFile("/d/f/g", "x"), "ENOTDIR");
        expect(fs.rev).toBe(2);
        fs.rm("/d", { recursive: true });
        expect(fs.rev).toBe(3);
        expect(fs.changesSince(0).entries.map((entry) => [entry.path, entry.rev, entry.deleted])).toEqual([
          ["/d", 3, true],
          ["/d/f", 3, true],
        ]);
      }));

    it("coalesces to one entry per path in its latest state, ordered by revision", () =>
      run((fs) => {
        fs.writeFile("/a", "1");
        fs.writeFile("/b", "1");
        fs.writeFile("/a", "2");
        fs.writeFile("/a", "final");
        const { entries, rev, more } = fs.changesSince(0);
        expect(entries.map((entry) => [entry.path, entry.rev])).toEqual([
          ["/b", 2],
          ["/a", 4],
        ]);
        expect(live(entries[1]).chunks).toEqual([hashChunk(new TextEncoder().encode("final"))]);
        expect(live(entries[1]).stats.size).toBe(5);
        expect(rev).toBe(4);
        expect(more).toBe(false);
        expect(fs.changesSince(2).entries.map((entry) => entry.path)).toEqual(["/a"]);
        expect(fs.changesSince(4)).toEqual({ entries: [], rev: 4, more: false });
      }));

    it("tombstones the old paths of a moved directory and lists the new ones", () =>
      run((fs) => {
        fs.mkdir("/a/b", { recursive: true });
        fs.writeFile("/a/b/f", "x");
        fs.symlink("f", "/a/b/l");
        const since = fs.rev;
        fs.rename("/a", "/z");
        const entries = fs.changesSince(since).entries;
        expect(entries.map((entry) => [entry.path, entry.deleted])).toEqual([
          ["/a", true],
          ["/a/b", true],
          ["/a/b/f", true],
          ["/a/b/l", true],
          ["/z", false],
          ["/z/b", false],
          ["/z/b/f", false],
          ["/z/b/l", false],
        ]);
        expect(new Set(entries.map((entry) => entry.rev))).toEqual(new Set([since + 1]));
        expect(live(entries.find((entry) => entry.path === "/z/b/l")).target).toBe("f");
      }));

    it("reports a recreated path in its new state, and metadata changes on every link", () =>
      run((fs) => {
        fs.writeFile("/p", "x");
        fs.unlink("/p");
        expect(fs.changesSince(0).entries[0]).toMatchObject({ path: "/p", deleted: true });
        fs.mkdir("/p");
        expect(live(fs.changesSince(0).entries[0]).stats.type).toBe("directory");
        fs.writeFile("/h1", "x");
        fs.link("/h1", "/h2");
        const since = fs.rev;
        fs.chmod("/h1", 0o600);
        expect(fs.changesSince(since).entries.map((entry) => entry.path)).toEqual(["/h1", "/h2"]);
        fs.write("/h2", "y", 0);
        expect(fs.changesSince(since + 1).entries.map((entry) => entry.path)).toEqual(["/h1", "/h2"]);
      }));

    it("pages without splitting a revision", () =>
      run((fs) => {
        fs.mkdir("/d");
        for (let i = 0; i < 5; i++) fs.writeFile(`/d/f${i}`, "x");
        // rev 7 moves /d: 12 paths (6 tombstones, 6 new) replace the entries of revs 1-6.
        fs.rename("/d", "/e");
        for (const name of ["/x", "/y", "/z"]) fs.writeFile(name, "x");
        const first = fs.changesSince(0, { limit: 3 });
        expect(first.entries.map((entry) => entry.rev)).toEqual(new Array(12).fill(7));
        expect(first).toMatchObject({ rev: 7, more: true });
        const second = fs.changesSince(first.rev, { limit: 2 });
        expect(second.entries.map((entry) => entry.path)).toEqual(["/x", "/y"]);
        expect(second).toMatchObject({ rev: 9, more: true });
        expect(fs.changesSince(second.rev, { limit: 2 })).toMatchObject({ rev: 10, more: false, entries: [{ path: "/z" }] });
      }));

    it("survives reopening the storage: tree, revision, counters", () =>
      host.withStorage((open) => {
        const fs = open(small);
        fs.mkdir("/d");
        fs.writeFile("/d/f", bytes(20));
        fs.symlink("f", "/d/l");
        const before = snapshot(fs);
        const reopened = open({ chunkSize: 1024 });
        expect(reopened.chunkSize).toBe(8);
        expect(snapshot(reopened)).toEqual(before);
        reopened.writeFile("/g", "more");
        expect(reopened.rev).toBe(before.usage.rev + 1);
      }));
  });
}
