import { describe, expect, it } from "vitest";
import { hashChunk } from "../../../src/workspace-do/chunks.ts";
import type { WorkspaceFs } from "../../../src/workspace-do/engine.ts";
import type { WorkspaceHistory } from "../../../src/workspace-do/history.ts";
import { bytes, clock, expectError, type SuiteContext, text } from "./helpers.ts";

/** Every path with its type, mode and content (hash or link target): equal trees give equal lists. */
function tree(fs: WorkspaceFs): string[] {
  return [...fs.walk("/")].map(({ path, type }) => {
    const stats = fs.lstat(path);
    const content = type === "file" ? hashChunk(fs.readFile(path)) : type === "symlink" ? fs.readlink(path) : "";
    return `${path} ${type} ${stats.mode.toString(8)} ${stats.uid}:${stats.gid} ${content}`;
  });
}

const historyOf = (fs: WorkspaceFs): WorkspaceHistory => {
  if (!fs.history) throw new Error("history is off");
  return fs.history;
};

/** History: versions of every path, checkpoints, diff, restore, undo and retention. */
export function describeHistory({ host, run }: SuiteContext): void {
  describe("history", () => {
    const withHistory = { history: true };

    it("restores the whole tree to a checkpoint byte for byte, as one new revision that can itself be undone", () =>
      run((fs) => {
        const history = historyOf(fs);
        fs.mkdir("/src/lib", { recursive: true });
        fs.writeFile("/src/app.ts", "export const app = 1;\n");
        fs.writeFile("/src/lib/util.ts", "export const util = 2;\n", { mode: 0o600 });
        fs.symlink("app.ts", "/src/main.ts");
        fs.writeFile("/data.bin", bytes(40_000));
        const start = tree(fs);
        const checkpoint = history.checkpoint("before the agent", { description: "a clean start" });
        expect(checkpoint).toMatchObject({ rev: fs.rev, label: "before the agent", description: "a clean start", auto: false });

        fs.writeFile("/src/app.ts", "export const app = 'broken';\n");
        fs.rm("/src/lib", { recursive: true });
        fs.rename("/data.bin", "/moved.bin");
        fs.chmod("/src/main.ts", 0o700);
        fs.writeFile("/new.txt", "added later\n");
        const broken = tree(fs);
        const brokenRev = fs.rev;

        const result = history.restore({ to: { checkpoint: "before the agent" } });
        expect(result.rev).toBe(brokenRev + 1);
        expect(tree(fs)).toEqual(start);
        expect(result.changes.map((change) => `${change.change} ${change.path}`)).toEqual([
          "added /data.bin",
          "deleted /moved.bin",
          "deleted /new.txt",
          "changed /src/app.ts",
          "added /src/lib",
          "added /src/lib/util.ts",
        ]);
        // The restore is a revision like any other: going back to the one before it undoes it.
        history.restore({ to: brokenRev });
        expect(tree(fs)).toEqual(broken);
        history.restore({ to: { checkpoint: checkpoint.id } });
        expect(tree(fs)).toEqual(start);
        expect(fs.stat("/src/lib/util.ts").mode).toBe(0o600);
      }, withHistory));

    it("brings back a deleted directory tree with its files, modes and symlinks, and restores a subtree alone", () =>
      run((fs) => {
        const history = historyOf(fs);
        fs.mkdir("/keep");
        fs.mkdir("/proj/bin", { recursive: true, mode: 0o750 });
        fs.writeFile("/proj/bin/run", "#!/bin/sh\necho hi\n", { mode: 0o755 });
        fs.symlink("bin/run", "/proj/run");
        fs.writeFile("/proj/README", "readme\n");
        const before = fs.rev;
        fs.rm("/proj", { recursive: true });
        fs.writeFile("/keep/after.txt", "written after the delete\n");

        const dry = history.restore({ path: "/proj", to: before, dryRun: true });
        expect(dry).toMatchObject({ dryRun: true, rev: fs.rev });
        expect(dry.changes.map((change) => change.path)).toEqual(["/proj", "/proj/README", "/proj/bin", "/proj/bin/run", "/proj/run"]);
        expect(fs.exists("/proj")).toBe(false);

        history.restore({ path: "/proj", to: before });
        expect(fs.stat("/proj/bin").mode).toBe(0o750);
        expect(fs.stat("/proj/bin/run").mode).toBe(0o755);
        expect(fs.readlink("/proj/run")).toBe("bin/run");
        expect(text(fs, "/proj/run")).toBe("#!/bin/sh\necho hi\n");
        // Outside the restored path nothing moved.
        expect(text(fs, "/keep/after.txt")).toBe("written after the delete\n");
      }, withHistory));

    it("restores a path whose type changed: a directory where a file is now, and back", () =>
      run((fs) => {
        const history = historyOf(fs);
        fs.mkdir("/x");
        fs.writeFile("/x/inside.txt", "in a directory\n");
        const asDirectory = fs.rev;
        fs.rm("/x", { recursive: true });
        fs.writeFile("/x", "now a file\n");
        const asFile = fs.rev;
        history.restore({ path: "/x", to: asDirectory });
        expect(fs.lstat("/x").type).toBe("directory");
        expect(text(fs, "/x/inside.txt")).toBe("in a directory\n");
        history.restore({ path: "/x", to: asFile });
        expect(text(fs, "/x")).toBe("now a file\n");
      }, withHistory));

    it("diffs two points: added, changed, deleted and mode changes, with a unified diff for text and sizes for binary", () =>
      run((fs) => {
        const history = historyOf(fs);
        fs.writeFile("/a.txt", "one\ntwo\nthree\n");
        fs.writeFile("/gone.txt", "bye\n");
        fs.writeFile("/blob.bin", new Uint8Array([0, 1, 2, 3]));
        fs.writeFile("/mode.sh", "echo\n");
        const from = history.checkpoint("start");
        fs.writeFile("/a.txt", "one\nTWO\nthree\n");
        fs.rm("/gone.txt");
        fs.writeFile("/blob.bin", new Uint8Array([0, 1, 2, 3, 4]));
        fs.chmod("/mode.sh", 0o755);
        fs.mkdir("/dir");
        fs.writeFile("/dir/new.txt", "fresh\n");
        const diff = history.diff({ from: { checkpoint: from.id } });
        expect(diff).toMatchObject({ from: from.rev, to: fs.rev, truncated: false });
        expect(diff.changes.map((change) => `${change.change} ${change.path}`)).toEqual([
          "changed /a.txt",
          "changed /blob.bin",
          "added /dir",
          "added /dir/new.txt",
          "deleted /gone.txt",
          "metadata /mode.sh",
        ]);
        const byPath = new Map(diff.changes.map((change) => [change.path, change]));
        expect(byPath.get("/a.txt")!.patch).toContain("-two\n+TWO\n");
        expect(byPath.get("/a.txt")!.patch).toContain("--- a/a.txt");
        expect(byPath.get("/dir/new.txt")!.patch).toContain("+fresh\n");
        expect(byPath.get("/gone.txt")!.patch).toContain("-bye\n");
        expect(byPath.get("/blob.bin")).toMatchObject({ binary: true, before: { size: 4 }, after: { size: 5 } });
        expect(byPath.get("/mode.sh")).toMatchObject({ before: { mode: 0o644 }, after: { mode: 0o755 } });
        expect(byPath.get("/mode.sh")!.patch).toBeUndefined();
        // Under a path, and the other way round.
        expect(history.diff({ from: "now", to: { checkpoint: "start" }, path: "/dir" }).changes.map((change) => `${change.change} ${change.path}`)).toEqual([
          "deleted /dir",
          "deleted /dir/new.txt",
        ]);
        expect(new TextDecoder().decode(history.readAt("/gone.txt", from.rev))).toBe("bye\n");
      }, withHistory));

    it("undoes exactly what one call changed and leaves other writers' changes alone; refuses when another writer came after, unless forced", () =>
      run((fs) => {
        const history = historyOf(fs);
        fs.writeFile("/shared.txt", "original\n");
        fs.writeFile("/other.txt", "other\n");
        fs.withSource({ kind: "exec", call: "exec-1", detail: "sed -i s/original/broken/ shared.txt && rm other.txt" }, () => {
          fs.writeFile("/shared.txt", "broken\n");
          fs.rm("/other.txt");
          fs.writeFile("/made-by-exec.txt", "x\n");
        });
        fs.withSource({ kind: "mcp", name: "write", call: "call-2" }, () => fs.writeFile("/mine.txt", "from a tool\n"));

        const undone = history.undo({ calls: ["exec-1"] });
        expect(undone.changes.map((change) => `${change.change} ${change.path}`)).toEqual([
          "deleted /made-by-exec.txt",
          "added /other.txt",
          "changed /shared.txt",
        ]);
        expect(text(fs, "/shared.txt")).toBe("original\n");
        expect(text(fs, "/other.txt")).toBe("other\n");
        expect(fs.exists("/made-by-exec.txt")).toBe(false);
        expect(text(fs, "/mine.txt")).toBe("from a tool\n");
        expect(history.log({ limit: 1 }).entries[0]!.source).toMatchObject({ kind: "undo", detail: "exec-1" });

        // Another exec changes a file, then a tool call edits the same file: undoing the exec is refused.
        fs.withSource({ kind: "exec", call: "exec-3" }, () => fs.writeFile("/shared.txt", "exec 3\n"));
        fs.withSource({ kind: "mcp", name: "edit", call: "call-4" }, () => fs.writeFile("/shared.txt", "exec 3, then edited\n"));
        const refused = expectError(() => history.undo({ calls: ["exec-3"] }), "ESTALE");
        expect(refused.message).toContain("/shared.txt");
        expect(refused.message).toContain("mcp edit call-4");
        expect(text(fs, "/shared.txt")).toBe("exec 3, then edited\n");
        const forced = history.undo({ calls: ["exec-3"], force: true });
        expect(forced.overridden).toEqual(["/shared.txt"]);
        expect(text(fs, "/shared.txt")).toBe("original\n");

        // The last N tool calls.
        fs.withSource({ kind: "mcp", name: "write", call: "call-5" }, () => fs.writeFile("/a.txt", "a\n"));
        fs.withSource({ kind: "mcp", name: "write", call: "call-6" }, () => fs.writeFile("/b.txt", "b\n"));
        expect(history.undo({ lastCalls: 2 }).calls).toEqual(["call-6", "call-5"]);
        expect(fs.exists("/a.txt") || fs.exists("/b.txt")).toBe(false);
        expectError(() => history.undo({ calls: ["no-such-call"] }), "ENOENT");
        expectError(() => history.undo({ lastCalls: 0 }), "EINVAL");
      }, withHistory));

    it("lists versions newest first with their source and what changed, paged by revision", () =>
      run((fs) => {
        const history = historyOf(fs);
        fs.withSource({ kind: "mcp", name: "write", call: "c1" }, () => fs.writeFile("/f.txt", "1\n"));
        fs.withSource({ kind: "files" }, () => fs.writeFile("/f.txt", "2\n"));
        fs.withSource({ kind: "wsd", name: "sandbox-1" }, () => fs.chmod("/f.txt", 0o600));
        fs.rm("/f.txt");
        const page = history.log({ path: "/f.txt", limit: 3 });
        expect(page.entries.map((entry) => [entry.rev, entry.change, entry.source?.kind])).toEqual([
          [4, "deleted", "api"],
          [3, "metadata", "wsd"],
          [2, "changed", "files"],
        ]);
        expect(page.entries[1]!.source).toEqual({ kind: "wsd", name: "sandbox-1" });
        expect(page.entries[2]!.state).toMatchObject({ type: "file", size: 2 });
        const rest = history.log({ path: "/f.txt", before: page.next });
        expect(rest.entries.map((entry) => [entry.rev, entry.change, entry.source])).toEqual([[1, "added", { kind: "mcp", name: "write", call: "c1" }]]);
        expect(rest.next).toBeUndefined();
      }, withHistory));

    it("grows storage only by the chunks an edit changed", () =>
      run((fs) => {
        const size = 1024 * 1024;
        const original = new Uint8Array(size);
        // Four different chunks (one pattern repeated would be stored once).
        for (let chunk = 0; chunk < 4; chunk++) original.set(bytes(256 * 1024, chunk + 1), chunk * 256 * 1024);
        fs.writeFile("/big.bin", original);
        const before = fs.usage();
        for (let i = 0; i < 100; i++) fs.write("/big.bin", new TextEncoder().encode(`edit ${String(i).padStart(3, "0")}\n`), (i % 4) * 256 * 1024 + 100);
        const after = fs.usage();
        expect(after.liveBytes).toBe(size);
        // 100 edits, each rewrote one 256 KiB chunk: history keeps exactly those.
        expect(after.historyBytes).toBe(100 * 256 * 1024);
        expect(after.storedBytes - before.storedBytes).toBe(100 * 256 * 1024);
        expect(after.history).toMatchObject({ versions: 101 });
      }, withHistory));

    it("retention frees what nothing references once it is older than the window, keeps what a checkpoint pins, and never makes a write fail", () => {
      const time = clock();
      return host.withStorage((open) => {
        const fs = open({ now: time.now, history: { keepMs: 60_000, keepCheckpoints: 2 } });
        const history = historyOf(fs);
        fs.writeFile("/pinned.txt", "pinned v1");
        fs.writeFile("/loose.txt", "loose v1");
        const pin = history.checkpoint("pin");
        fs.writeFile("/pinned.txt", "pinned v2");
        fs.writeFile("/loose.txt", "loose v2");
        fs.writeFile("/loose.txt", "loose v3");
        expect(fs.usage().historyBytes).toBe("pinned v1".length + "loose v1".length + "loose v2".length);
        time.advance(120_000);
        fs.writeFile("/later.txt", "after the window");
        history.checkpoint("second");
        // loose v2 was superseded before the window and no checkpoint needs it; the pin keeps v1 of both.
        expect(fs.usage().historyBytes).toBe("pinned v1".length + "loose v1".length);
        expect(new TextDecoder().decode(history.readAt("/loose.txt", { checkpoint: pin.id }))).toBe("loose v1");
        expectError(() => history.restore({ to: pin.rev + 1 }), "ENOENT");
        // A third checkpoint past the window: the pin (two named checkpoints are kept) expires, and its versions with it.
        time.advance(120_000);
        history.checkpoint("third");
        expect(fs.usage().historyBytes).toBe(0);
        expectError(() => history.restore({ to: { checkpoint: "pin" } }), "ENOENT");
      });
    });

    it("frees the oldest history when a write would pass the quota, instead of failing", () =>
      run(
        (fs) => {
          fs.writeFile("/f.bin", bytes(600, 1));
          fs.writeFile("/f.bin", bytes(600, 2));
          expect(fs.usage()).toMatchObject({ liveBytes: 600, historyBytes: 600 });
          fs.writeFile("/f.bin", bytes(600, 3));
          expect(fs.usage()).toMatchObject({ liveBytes: 600, historyBytes: 600 });
          expect(fs.history!.since).toBeGreaterThan(1);
          // Live content alone past the quota still fails.
          expectError(() => fs.writeFile("/g.bin", bytes(1200, 4)), "ENOSPC", "/g.bin");
        },
        { history: true, maxWorkspaceBytes: 1500 },
      ));

    it("keeps history and checkpoints across a reopen, and starts from the tree as it is on a database without history", () =>
      host.withStorage((open) => {
        const plain = open();
        plain.writeFile("/old.txt", "written before history");
        plain.mkdir("/dir");
        const first = open({ history: true });
        const history = historyOf(first);
        expect(history.since).toBe(first.rev);
        expect(history.stateAt("/old.txt", "now")).toMatchObject({ type: "file", size: 22 });
        expectError(() => history.restore({ to: 0 }), "ENOENT");
        history.checkpoint("kept");
        first.writeFile("/old.txt", "changed");
        const again = open({ history: true });
        const reopened = historyOf(again);
        expect(reopened.checkpoints().map((checkpoint) => checkpoint.label)).toEqual(["kept"]);
        reopened.restore({ to: { checkpoint: "kept" } });
        expect(text(again, "/old.txt")).toBe("written before history");
      }));

    it("answers bad points and paths with a clear error and changes nothing", () =>
      run((fs) => {
        const history = historyOf(fs);
        fs.writeFile("/f.txt", "x");
        const rev = fs.rev;
        expectError(() => history.restore({ to: { checkpoint: "nope" } }), "ENOENT", "(checkpoint nope)");
        expectError(() => history.restore({ to: { checkpoint: 99 } }), "ENOENT");
        expectError(() => history.restore({ to: rev + 5 }), "EINVAL");
        expectError(() => history.restore({ to: -1 }), "EINVAL");
        expectError(() => history.restore({ path: "/a\0b", to: 0 }), "EINVAL");
        expectError(() => history.diff({ from: 1.5 }), "EINVAL");
        expectError(() => history.checkpoint(""), "EINVAL");
        expectError(() => history.readAt("/f.txt", 0), "ENOENT");
        expect(fs.rev).toBe(rev);
        expect(text(fs, "/f.txt")).toBe("x");
      }, withHistory));
  });
}
