import { describe, expect, it } from "vitest";
import { hashChunk } from "../../../src/workspace-do/chunks.ts";
import { bytes, expectError, pieces, type SuiteContext, small, snapshot, text } from "./helpers.ts";

/** The `parents` option: operations that make the missing directories of their destination. */
export function describeParents({ run }: SuiteContext): void {
  describe("parents", () => {
    it("writeFile, appendFile and writeFileChunks with parents make the missing directories, then the file, under one revision", () =>
      run((fs) => {
        fs.mkdir("/a");
        const rev = fs.rev;
        fs.writeFile("/a/b/c/file.txt", "one", { parents: true });
        expect(text(fs, "/a/b/c/file.txt")).toBe("one");
        expect(fs.rev).toBe(rev + 1);
        expect(fs.changesSince(rev).entries.map((entry) => entry.path)).toEqual(["/a/b", "/a/b/c", "/a/b/c/file.txt"]);
        expect(fs.stat("/a/b")).toMatchObject({ type: "directory", mode: 0o755, uid: 0, gid: 0 });
        fs.appendFile("/x/y/log.txt", "line\n", { parents: true });
        fs.appendFile("/x/y/log.txt", "more\n", { parents: true });
        expect(text(fs, "/x/y/log.txt")).toBe("line\nmore\n");
        const [hash] = fs.changesSince(0).entries.flatMap((entry) => (entry.deleted ? [] : (entry.chunks ?? [])));
        fs.writeFileChunks("/p/q/copy.txt", [hash!], 3, { parents: true, mode: 0o600 });
        expect(text(fs, "/p/q/copy.txt")).toBe("one");
        expect(fs.stat("/p/q/copy.txt").mode).toBe(0o600);
        expect(fs.stat("/p")).toMatchObject({ type: "directory", mode: 0o755 });
      }));

    it("writeFileStream with parents makes the directories in its final transaction", () =>
      run(async (fs) => {
        await fs.writeFileStream("/s/t/stream.bin", pieces(bytes(20), 3), { parents: true });
        expect(fs.readFile("/s/t/stream.bin")).toEqual(bytes(20));
        expect(fs.stat("/s/t").type).toBe("directory");
        // A stream that fails midway leaves no directory behind.
        const before = snapshot(fs);
        async function* failing() {
          yield bytes(10);
          throw new Error("source broke");
        }
        await expect(fs.writeFileStream("/u/v/w.bin", failing(), { parents: true })).rejects.toThrow("source broke");
        expect(snapshot(fs)).toEqual(before);
        expect(fs.exists("/u")).toBe(false);
      }, small));

    it("rename, copy and symlink with parents make the missing parents of the destination", () =>
      run((fs) => {
        fs.mkdir("/src/lib", { recursive: true });
        fs.writeFile("/src/lib/a.ts", "a");
        fs.writeFile("/note.txt", "n");
        fs.rename("/src", "/moved/here/src", { parents: true });
        expect(text(fs, "/moved/here/src/lib/a.ts")).toBe("a");
        fs.copy("/moved/here/src", "/copies/1/src", { recursive: true, parents: true });
        expect(text(fs, "/copies/1/src/lib/a.ts")).toBe("a");
        fs.copy("/note.txt", "/copies/2/note.txt", { parents: true });
        expect(text(fs, "/copies/2/note.txt")).toBe("n");
        fs.symlink("../../note.txt", "/links/deep/note", { parents: true });
        expect(text(fs, "/links/deep/note")).toBe("n");
        // Where the parents exist, parents changes nothing.
        fs.writeFile("/note.txt", "m", { parents: true });
        expect(text(fs, "/links/deep/note")).toBe("m");
      }));

    it("without parents a missing parent is still ENOENT", () =>
      run((fs) => {
        expectError(() => fs.writeFile("/no/such/file", "x"), "ENOENT");
        expectError(() => fs.symlink("/x", "/no/such/link"), "ENOENT");
        fs.writeFile("/f", "x");
        expectError(() => fs.rename("/f", "/no/such/f"), "ENOENT");
        expectError(() => fs.copy("/f", "/no/such/f"), "ENOENT");
      }));

    it("a file on the way fails with ENOTDIR, and an existing target with exclusive with EEXIST, changing nothing", () =>
      run((fs) => {
        fs.mkdir("/d");
        fs.writeFile("/d/file.txt", "x");
        const before = snapshot(fs);
        expectError(() => fs.writeFile("/d/file.txt/sub/new.txt", "y", { parents: true }), "ENOTDIR", "/d/file.txt");
        expectError(() => fs.symlink("/d", "/d/file.txt/sub/link", { parents: true }), "ENOTDIR");
        expectError(() => fs.rename("/d/file.txt", "/d/file.txt/sub/moved", { parents: true }), "ENOTDIR");
        expectError(() => fs.writeFile("/d/file.txt", "y", { parents: true, exclusive: true }), "EEXIST", "/d/file.txt");
        expect(snapshot(fs)).toEqual(before);
      }));

    it("an operation that fails after making parents leaves none of them behind", () =>
      run(
        (fs) => {
          fs.mkdir("/tree/inner", { recursive: true });
          fs.writeFile("/tree/inner/f", "f");
          const before = snapshot(fs);
          const rev = fs.rev;
          // Each of these fails only after its missing directories were made.
          expectError(() => fs.writeFile("/new/dir/big", bytes(101), { parents: true }), "EFBIG");
          expectError(() => fs.writeFile("/new/dir/full", bytes(90), { parents: true }), "ENOSPC");
          expectError(() => fs.writeFileChunks("/new/dir/chunks", [hashChunk(bytes(5))], 5, { parents: true }), "EIO");
          expectError(() => fs.rename("/tree", "/tree/new/dir/tree", { parents: true }), "EINVAL");
          expectError(() => fs.copy("/tree", "/tree/new/dir/tree", { recursive: true, parents: true }), "EINVAL");
          expect(snapshot(fs)).toEqual(before);
          expect(fs.rev).toBe(rev);
          expect(fs.exists("/new")).toBe(false);
          expect(fs.exists("/tree/new")).toBe(false);
        },
        { ...small, maxFileSize: 100, maxWorkspaceBytes: 64 },
      ));
  });
}
