import { describe, expect, it } from "vitest";
import { bytes, expectError, type SuiteContext, small, snapshot, text } from "./helpers.ts";

/** Moving and copying entries. */
export function describeRenameAndCopy({ run }: SuiteContext): void {
  describe("rename", () => {
    it("moves a file, replacing an existing file and freeing its content", () =>
      run((fs) => {
        fs.mkdir("/d");
        fs.writeFile("/a", "A content");
        fs.writeFile("/d/b", "B content");
        const ino = fs.stat("/a").ino;
        fs.rename("/a", "/d/b");
        expect(fs.exists("/a")).toBe(false);
        expect(text(fs, "/d/b")).toBe("A content");
        expect(fs.stat("/d/b").ino).toBe(ino);
        expect(fs.usage()).toMatchObject({ files: 1, storedBytes: 9 });
      }));

    it("is a no-op onto itself and between two links of one file", () =>
      run((fs) => {
        fs.writeFile("/a", "x");
        fs.link("/a", "/b");
        fs.mkdir("/d");
        const before = snapshot(fs);
        fs.rename("/a", "/a");
        fs.rename("/a", "/b");
        fs.rename("/d", "/d");
        expect(snapshot(fs).entries).toEqual(before.entries);
      }));

    it("moves a directory with everything below it in one step", () =>
      run((fs) => {
        fs.mkdir("/src/lib/deep", { recursive: true });
        fs.writeFile("/src/lib/deep/x.ts", "x");
        fs.writeFile("/src/index.ts", "i");
        fs.rename("/src", "/app");
        expect([...fs.walk("/")].map((entry) => entry.path)).toEqual(["/app", "/app/index.ts", "/app/lib", "/app/lib/deep", "/app/lib/deep/x.ts"]);
        expect(text(fs, "/app/lib/deep/x.ts")).toBe("x");
        expectError(() => fs.stat("/src/index.ts"), "ENOENT");
      }));

    it("replaces an empty directory but not a non-empty one", () =>
      run((fs) => {
        fs.mkdir("/a");
        fs.writeFile("/a/f", "x");
        fs.mkdir("/empty");
        fs.mkdir("/full");
        fs.writeFile("/full/g", "y");
        const before = snapshot(fs);
        expectError(() => fs.rename("/a", "/full"), "ENOTEMPTY", "/full");
        expect(snapshot(fs)).toEqual(before);
        fs.rename("/a", "/empty");
        expect(text(fs, "/empty/f")).toBe("x");
      }));

    it("refuses to move a directory into its own subtree (EINVAL)", () =>
      run((fs) => {
        fs.mkdir("/a/b", { recursive: true });
        const before = snapshot(fs);
        expectError(() => fs.rename("/a", "/a/b/c"), "EINVAL", "/a/b/c");
        expectError(() => fs.rename("/a", "/a/b"), "EINVAL");
        expect(snapshot(fs)).toEqual(before);
      }));

    it("fails with EISDIR, ENOTDIR, ENOENT and EPERM as rename(2) does", () =>
      run((fs) => {
        fs.mkdir("/dir");
        fs.writeFile("/file", "x");
        fs.writeFile("/other", "y");
        const before = snapshot(fs);
        expectError(() => fs.rename("/file", "/dir"), "EISDIR", "/dir");
        expectError(() => fs.rename("/dir", "/file"), "ENOTDIR", "/file");
        expectError(() => fs.rename("/missing", "/x"), "ENOENT", "/missing");
        expectError(() => fs.rename("/file", "/no/such/place"), "ENOENT");
        expectError(() => fs.rename("/file", "/other/x"), "ENOTDIR");
        expectError(() => fs.rename("/", "/x"), "EPERM");
        expectError(() => fs.rename("/dir", "/"), "EPERM");
        expect(snapshot(fs)).toEqual(before);
      }));

    it("moves a symlink itself, not its target", () =>
      run((fs) => {
        fs.writeFile("/t", "x");
        fs.symlink("t", "/l");
        fs.rename("/l", "/m");
        expect(fs.readlink("/m")).toBe("t");
        expect(text(fs, "/m")).toBe("x");
      }));
  });

  describe("copy", () => {
    it("copies a file by sharing its chunks, keeping its mode", () =>
      run((fs) => {
        fs.writeFile("/a", bytes(40), { mode: 0o600 });
        fs.mkdir("/d");
        fs.copy("/a", "/d/b");
        expect(fs.readFile("/d/b")).toEqual(bytes(40));
        expect(fs.stat("/d/b")).toMatchObject({ mode: 0o600, nlink: 1 });
        expect(fs.stat("/d/b").ino).not.toBe(fs.stat("/a").ino);
        expect(fs.usage()).toMatchObject({ files: 2, storedBytes: 40, logicalBytes: 80 });
        fs.appendFile("/d/b", "!");
        expect(fs.readFile("/a")).toEqual(bytes(40));
        fs.rm("/a");
        expect(fs.readFile("/d/b").byteLength).toBe(41);
      }, small));

    it("replaces an existing file unless exclusive, and copies through a symlink", () =>
      run((fs) => {
        fs.writeFile("/src", "new");
        fs.writeFile("/dst", "old content");
        fs.symlink("/src", "/link");
        expectError(() => fs.copy("/src", "/dst", { exclusive: true }), "EEXIST", "/dst");
        fs.copy("/link", "/dst");
        expect(text(fs, "/dst")).toBe("new");
        expect(fs.lstat("/dst").type).toBe("file");
        expect(fs.usage().storedBytes).toBe(3);
      }));

    it("copies a directory tree with recursive, symlinks as links", () =>
      run((fs) => {
        fs.mkdir("/t/sub", { recursive: true });
        fs.writeFile("/t/sub/f", "deep");
        fs.symlink("sub/f", "/t/l");
        fs.copy("/t", "/u", { recursive: true });
        expect([...fs.walk("/u")].map((entry) => [entry.path, entry.type])).toEqual([
          ["/u/l", "symlink"],
          ["/u/sub", "directory"],
          ["/u/sub/f", "file"],
        ]);
        expect(fs.readlink("/u/l")).toBe("sub/f");
        expect(text(fs, "/u/l")).toBe("deep");
        expect(
          fs
            .changesSince(0)
            .entries.filter((entry) => entry.path.startsWith("/u"))
            .map((entry) => entry.path),
        ).toEqual(["/u", "/u/l", "/u/sub", "/u/sub/f"]);
      }));

    it("fails with EISDIR, EEXIST, EINVAL and ENOENT without changing anything", () =>
      run((fs) => {
        fs.mkdir("/d/inner", { recursive: true });
        fs.writeFile("/f", "x");
        const before = snapshot(fs);
        expectError(() => fs.copy("/d", "/e"), "EISDIR", "/d");
        expectError(() => fs.copy("/f", "/d"), "EISDIR", "/d");
        expectError(() => fs.copy("/d", "/f", { recursive: true }), "EEXIST", "/f");
        expectError(() => fs.copy("/d", "/d/inner/copy", { recursive: true }), "EINVAL");
        expectError(() => fs.copy("/f", "/f"), "EINVAL");
        expectError(() => fs.copy("/missing", "/g"), "ENOENT");
        expectError(() => fs.copy("/f", "/no/such/g"), "ENOENT");
        expect(snapshot(fs)).toEqual(before);
      }));
  });
}
