import { describe, expect, it } from "vitest";
import { bytes, expectError, type SuiteContext, snapshot, text } from "./helpers.ts";

/** Directories and entries: mkdir and readdir, the directory cache, stat, and removal. */
export function describeDirectories({ run }: SuiteContext): void {
  describe("mkdir and readdir", () => {
    it("creates directories and fails with EEXIST, ENOENT and ENOTDIR", () =>
      run((fs) => {
        expect(fs.mkdir("/a")).toBe("/a");
        expect(fs.stat("/a")).toMatchObject({ type: "directory", mode: 0o755, nlink: 2 });
        fs.writeFile("/file", "x");
        const before = snapshot(fs);
        expectError(() => fs.mkdir("/a"), "EEXIST", "/a");
        expectError(() => fs.mkdir("/"), "EEXIST", "/");
        expectError(() => fs.mkdir("/file"), "EEXIST");
        expectError(() => fs.mkdir("/x/y"), "ENOENT");
        expectError(() => fs.mkdir("/file/y"), "ENOTDIR");
        expect(snapshot(fs)).toEqual(before);
      }));

    it("creates parents with recursive, returning the first one made", () =>
      run((fs) => {
        expect(fs.mkdir("/a/b/c", { recursive: true, mode: 0o700 })).toBe("/a");
        expect(fs.stat("/a/b/c").mode).toBe(0o700);
        expect(fs.mkdir("/a/b/c", { recursive: true })).toBeUndefined();
        expect(fs.mkdir("/a/b/d/e", { recursive: true })).toBe("/a/b/d");
        fs.writeFile("/a/f", "x");
        expectError(() => fs.mkdir("/a/f/g", { recursive: true }), "ENOTDIR");
        expectError(() => fs.mkdir("/a/f", { recursive: true }), "EEXIST");
        expect(fs.mkdir("/", { recursive: true })).toBeUndefined();
      }));

    it("keeps a directory's link count at 2 plus its subdirectories", () =>
      run((fs) => {
        fs.mkdir("/p/a", { recursive: true });
        fs.mkdir("/p/b");
        fs.writeFile("/p/f", "");
        expect(fs.stat("/p").nlink).toBe(4);
        fs.rmdir("/p/a");
        expect(fs.stat("/p").nlink).toBe(3);
        fs.mkdir("/q");
        fs.rename("/p/b", "/q/b");
        expect(fs.stat("/p").nlink).toBe(2);
        expect(fs.stat("/q").nlink).toBe(3);
      }));

    it("lists entries sorted by name with types, and with stats on request", () =>
      run((fs) => {
        fs.mkdir("/d");
        fs.writeFile("/d/b.txt", "bb");
        fs.writeFile("/d/A.txt", "a");
        fs.mkdir("/d/sub");
        fs.symlink("b.txt", "/d/link");
        expect(fs.readdir("/d")).toEqual([
          { name: "A.txt", type: "file" },
          { name: "b.txt", type: "file" },
          { name: "link", type: "symlink" },
          { name: "sub", type: "directory" },
        ]);
        const withStats = fs.readdir("/d", { withStats: true });
        expect(withStats.map((entry) => [entry.name, entry.stats.size])).toEqual([
          ["A.txt", 1],
          ["b.txt", 2],
          ["link", 5],
          ["sub", 0],
        ]);
        fs.symlink("/d", "/to-d");
        expect(fs.readdir("/to-d")).toHaveLength(4);
        expectError(() => fs.readdir("/d/b.txt"), "ENOTDIR");
        expectError(() => fs.readdir("/nope"), "ENOENT");
        expect(fs.readdir("/d/sub")).toEqual([]);
      }));
  });

  describe("directory cache", () => {
    it("sees every entry added after a directory was listed, and none a rollback undid", () =>
      run(
        (fs) => {
          fs.mkdir("/d");
          fs.writeFile("/src", "x");
          fs.mkdir("/elsewhere");
          fs.writeFile("/elsewhere/moved", "m");
          expect(fs.readdir("/d")).toEqual([]);
          expect(fs.exists("/d/a")).toBe(false);
          fs.writeFile("/d/a", "a");
          fs.link("/src", "/d/hard");
          fs.symlink("a", "/d/sym");
          fs.mkdir("/d/sub");
          fs.copy("/src", "/d/copy");
          fs.rename("/elsewhere/moved", "/d/moved");
          expect(["a", "hard", "sym", "sub", "copy", "moved"].map((name) => fs.exists(`/d/${name}`))).toEqual([true, true, true, true, true, true]);
          expect(fs.exists("/elsewhere/moved")).toBe(false);
          fs.rm("/d/a");
          expect(fs.exists("/d/a")).toBe(false);
          expectError(() => fs.writeFile("/d/too-big", bytes(200)), "ENOSPC");
          expect(fs.exists("/d/too-big")).toBe(false);
          fs.rm("/d", { recursive: true });
          fs.mkdir("/d");
          expect(fs.readdir("/d")).toEqual([]);
          expect(fs.exists("/d/hard")).toBe(false);
        },
        { maxWorkspaceBytes: 100 },
      ));
  });

  describe("stat, lstat and exists", () => {
    it("follows symlinks in stat but not in lstat", () =>
      run((fs) => {
        fs.writeFile("/f", "12345");
        fs.symlink("/f", "/l");
        expect(fs.stat("/l")).toMatchObject({ type: "file", size: 5 });
        expect(fs.lstat("/l")).toMatchObject({ type: "symlink", size: 2, mode: 0o777 });
        expect(fs.stat("/")).toMatchObject({ type: "directory", ino: 1 });
      }));

    it("says whether a path exists, and throws only for malformed paths", () =>
      run((fs) => {
        fs.writeFile("/f", "");
        fs.symlink("/nowhere", "/dangling");
        expect(fs.exists("/f")).toBe(true);
        expect(fs.exists("/")).toBe(true);
        expect(fs.exists("/g")).toBe(false);
        expect(fs.exists("/f/g")).toBe(false);
        expect(fs.exists("/dangling")).toBe(false);
        expectError(() => fs.exists("/a\0"), "EINVAL");
      }));
  });

  describe("unlink, rmdir and rm", () => {
    it("unlinks files and symlinks but not directories", () =>
      run((fs) => {
        fs.writeFile("/f", "x");
        fs.mkdir("/d");
        fs.symlink("/d", "/l");
        fs.unlink("/l");
        expect(fs.exists("/d")).toBe(true);
        fs.unlink("/f");
        expect(fs.exists("/f")).toBe(false);
        expectError(() => fs.unlink("/d"), "EISDIR", "/d");
        expectError(() => fs.unlink("/f"), "ENOENT", "/f");
      }));

    it("removes only empty directories with rmdir", () =>
      run((fs) => {
        fs.mkdir("/d/e", { recursive: true });
        fs.writeFile("/f", "");
        expectError(() => fs.rmdir("/d"), "ENOTEMPTY", "/d");
        expectError(() => fs.rmdir("/f"), "ENOTDIR");
        expectError(() => fs.rmdir("/"), "EPERM");
        fs.rmdir("/d/e");
        fs.rmdir("/d");
        expect(fs.readdir("/")).toEqual([{ name: "f", type: "file" }]);
      }));

    it("removes files, empty directories, and whole trees with recursive", () =>
      run((fs) => {
        fs.mkdir("/t/a/b", { recursive: true });
        fs.writeFile("/t/a/b/f", "deep");
        fs.writeFile("/t/g", "top");
        fs.mkdir("/empty");
        fs.rm("/empty");
        const before = snapshot(fs);
        expectError(() => fs.rm("/t"), "ENOTEMPTY", "/t");
        expect(snapshot(fs)).toEqual(before);
        fs.rm("/t", { recursive: true });
        expect(fs.readdir("/")).toEqual([]);
        expect(fs.usage()).toMatchObject({ files: 0, directories: 1, chunks: 0 });
      }));

    it("ignores a missing path with force, fails with ENOENT without, and never removes the root", () =>
      run((fs) => {
        fs.rm("/missing", { force: true });
        fs.rm("/missing/deeper", { force: true, recursive: true });
        expectError(() => fs.rm("/missing"), "ENOENT");
        expectError(() => fs.rm("/", { recursive: true, force: true }), "EPERM");
      }));

    it("removes a symlink to a directory, not the directory", () =>
      run((fs) => {
        fs.mkdir("/d");
        fs.writeFile("/d/f", "x");
        fs.symlink("/d", "/l");
        fs.rm("/l", { recursive: true });
        expect(text(fs, "/d/f")).toBe("x");
      }));
  });
}
