import { describe, expect, it } from "vitest";
import type { ChangeEntry } from "../../../src/workspace-do/engine.ts";
import { bytes, clock, expectError, expectRejection, pieces, type SuiteContext, small, snapshot, text } from "./helpers.ts";

/** File content: whole-file and streamed writes, partial writes and truncation, size limits, and the content-addressed chunks underneath. */
export function describeContent({ host, run }: SuiteContext): void {
  describe("writeFile and readFile", () => {
    it("round-trips text and bytes and reports size", () =>
      run((fs) => {
        fs.writeFile("/t.txt", "héllo ✓");
        expect(text(fs, "/t.txt")).toBe("héllo ✓");
        expect(fs.stat("/t.txt").size).toBe(new TextEncoder().encode("héllo ✓").length);
        const data = bytes(1000);
        fs.writeFile("/b.bin", data);
        expect(fs.readFile("/b.bin")).toEqual(data);
        fs.writeFile("/empty", "");
        expect(fs.readFile("/empty").byteLength).toBe(0);
        expect(fs.stat("/empty")).toMatchObject({ type: "file", size: 0, nlink: 1, mode: 0o644 });
      }));

    it("replaces content on overwrite and moves mtime", () => {
      const time = clock();
      return run(
        (fs) => {
          fs.writeFile("/f", "a long first version");
          const first = fs.stat("/f");
          time.advance();
          fs.writeFile("/f", "short");
          expect(text(fs, "/f")).toBe("short");
          const second = fs.stat("/f");
          expect(second.size).toBe(5);
          expect(second.mtimeMs).toBe(first.mtimeMs + 1000);
          expect(second.birthtimeMs).toBe(first.birthtimeMs);
          expect(second.ino).toBe(first.ino);
        },
        { ...small, now: time.now },
      );
    });

    it("creates with the given mode and refuses an existing file when exclusive", () =>
      run((fs) => {
        fs.writeFile("/x.sh", "#!/bin/sh", { mode: 0o755 });
        expect(fs.stat("/x.sh").mode).toBe(0o755);
        fs.writeFile("/x.sh", "echo", { mode: 0o600 });
        expect(fs.stat("/x.sh").mode).toBe(0o755);
        const before = snapshot(fs);
        expectError(() => fs.writeFile("/x.sh", "new", { exclusive: true }), "EEXIST", "/x.sh");
        expect(snapshot(fs)).toEqual(before);
        fs.writeFile("/y", "fresh", { exclusive: true });
        expect(text(fs, "/y")).toBe("fresh");
      }));

    it("fails with EISDIR on a directory, ENOENT without a parent, ENOTDIR through a file", () =>
      run((fs) => {
        fs.mkdir("/dir");
        fs.writeFile("/file", "x");
        const before = snapshot(fs);
        expectError(() => fs.writeFile("/dir", "x"), "EISDIR", "/dir");
        expectError(() => fs.writeFile("/", "x"), "EISDIR", "/");
        expectError(() => fs.writeFile("/missing/f", "x"), "ENOENT", "/missing/f");
        expectError(() => fs.writeFile("/file/f", "x"), "ENOTDIR", "/file/f");
        expectError(() => fs.readFile("/dir"), "EISDIR");
        expectError(() => fs.readFile("/nope"), "ENOENT");
        expect(snapshot(fs)).toEqual(before);
      }));

    it("writes through a symlink to its target, creating the target of a dangling link", () =>
      run((fs) => {
        fs.writeFile("/target", "old");
        fs.symlink("target", "/link");
        fs.writeFile("/link", "new");
        expect(text(fs, "/target")).toBe("new");
        expect(fs.lstat("/link").type).toBe("symlink");
        fs.symlink("/made-by-link", "/dangling");
        expect(fs.exists("/dangling")).toBe(false);
        expect(fs.exists("/dangling", { followSymlink: false })).toBe(true);
        fs.writeFile("/dangling", "created");
        expect(text(fs, "/made-by-link")).toBe("created");
      }));

    it("reads byte ranges across chunk boundaries", () =>
      run((fs) => {
        const data = bytes(100);
        fs.writeFile("/r", data);
        expect(fs.readFile("/r", { byteOffset: 5, byteLength: 20 })).toEqual(data.subarray(5, 25));
        expect(fs.readFile("/r", { byteOffset: 8, byteLength: 8 })).toEqual(data.subarray(8, 16));
        expect(fs.readFile("/r", { byteOffset: 95 })).toEqual(data.subarray(95));
        expect(fs.readFile("/r", { byteLength: 3 })).toEqual(data.subarray(0, 3));
        expect(fs.readFile("/r", { byteOffset: 500 }).byteLength).toBe(0);
        expect(fs.readFile("/r", { byteOffset: 7, byteLength: 0 }).byteLength).toBe(0);
        expect(fs.readFile("/r", { byteOffset: 10, byteLength: 5, encoding: "utf8" })).toBe(new TextDecoder().decode(data.subarray(10, 15)));
        expectError(() => fs.readFile("/r", { byteOffset: -1 }), "EINVAL");
        expectError(() => fs.readFile("/r", { byteLength: 1.5 }), "EINVAL");
      }, small));

    it("reads into a caller's buffer, up to the end of the file", () =>
      run((fs) => {
        const data = bytes(100);
        fs.writeFile("/r", data);
        const target = new Uint8Array(20).fill(0xee);
        expect(fs.readInto("/r", target, 5)).toBe(20);
        expect(target).toEqual(data.subarray(5, 25));
        target.fill(0xee);
        expect(fs.readInto("/r", target, 90)).toBe(10);
        expect(target.subarray(0, 10)).toEqual(data.subarray(90));
        expect(target.subarray(10).every((byte) => byte === 0xee)).toBe(true);
        expect(fs.readInto("/r", target, 500)).toBe(0);
        expectError(() => fs.readInto("/r", target, -1), "EINVAL");
        expectError(() => fs.readInto("/", target, 0), "EISDIR");
        expectError(() => fs.readInto("/none", target, 0), "ENOENT");
      }, small));

    it("streams a file out chunk by chunk", () =>
      run(async (fs) => {
        const data = bytes(50);
        fs.writeFile("/s", data);
        const parts: Uint8Array[] = [];
        for await (const part of fs.readFileStream("/s")) parts.push(part);
        expect(parts.map((part) => part.byteLength)).toEqual([8, 8, 8, 8, 8, 8, 2]);
        expect(Buffer.concat(parts)).toEqual(Buffer.from(data));
        expectError(() => fs.readFileStream("/missing"), "ENOENT");
      }, small));

    it("fails a read stream with ESTALE when the file is rewritten under it", () =>
      run(async (fs) => {
        fs.writeFile("/s", bytes(80, 1));
        const reader = fs.readFileStream("/s").getReader();
        await reader.read();
        fs.writeFile("/s", bytes(80, 2));
        const drain = async () => {
          while (!(await reader.read()).done);
        };
        await expect(drain()).rejects.toMatchObject({ code: "ESTALE" });
      }, small));
  });

  describe("stream writes", () => {
    it("writes a file from a stream of uneven pieces", () =>
      run(async (fs) => {
        const data = bytes(1000);
        await fs.writeFileStream("/big", pieces(data, 7));
        expect(fs.readFile("/big")).toEqual(data);
        await fs.writeFileStream("/big", new Blob([data.subarray(0, 10)]).stream());
        expect(fs.readFile("/big")).toEqual(data.subarray(0, 10));
        await fs.writeFileStream("/empty", pieces(new Uint8Array(0), 1));
        expect(fs.stat("/empty").size).toBe(0);
      }, small));

    it("leaves no file and no chunks when the stream fails midway", () =>
      run(async (fs) => {
        fs.writeFile("/keep", "kept");
        const before = snapshot(fs);
        async function* failing() {
          yield bytes(100);
          throw new Error("network dropped");
        }
        await expect(fs.writeFileStream("/new", failing())).rejects.toThrow("network dropped");
        await expect(fs.writeFileStream("/keep", failing())).rejects.toThrow("network dropped");
        expect(snapshot(fs)).toEqual(before);
      }, small));

    it("checks the target before reading the stream", () =>
      run(async (fs) => {
        fs.writeFile("/exists", "x");
        let pulled = 0;
        async function* counting() {
          pulled++;
          yield bytes(8);
        }
        await expectRejection(fs.writeFileStream("/exists", counting(), { exclusive: true }), "EEXIST");
        await expectRejection(fs.writeFileStream("/no/dir/f", counting()), "ENOENT");
        await expectRejection(fs.writeFileStream("/", counting()), "EISDIR");
        expect(pulled).toBe(0);
      }, small));

    it("stops with EFBIG and ENOSPC as soon as a limit is passed, keeping nothing", () =>
      run(
        async (fs) => {
          const before = snapshot(fs);
          await expectRejection(fs.writeFileStream("/huge", pieces(bytes(300), 10)), "EFBIG");
          await expectRejection(fs.writeFileStream("/huge", pieces(bytes(250, 3), 10)), "ENOSPC");
          expect(snapshot(fs)).toEqual(before);
          await fs.writeFileStream("/fits", pieces(bytes(200), 10));
          expect(fs.stat("/fits").size).toBe(200);
        },
        { chunkSize: 16, maxFileSize: 256, maxWorkspaceBytes: 240 },
      ));

    it("frees the chunks of a stream write abandoned by a crash when the storage is reopened", () =>
      host.withStorage(async (open) => {
        const fs = open(small);
        let release!: () => void;
        const stalled = new Promise<void>((resolve) => (release = resolve));
        async function* hanging() {
          yield bytes(40);
          await stalled;
        }
        const write = fs.writeFileStream("/f", hanging());
        await new Promise((resolve) => setTimeout(resolve, 10));
        expect(fs.usage().chunks).toBe(5);
        const restarted = open(small);
        expect(restarted.usage()).toMatchObject({ chunks: 0, storedBytes: 0 });
        release();
        await expectRejection(write, "EIO");
        expect(restarted.exists("/f")).toBe(false);
      }));
  });

  describe("appendFile, write and truncate", () => {
    it("appends, creating the file first", () =>
      run((fs) => {
        fs.appendFile("/log", "one\n");
        fs.appendFile("/log", "two\n");
        fs.appendFile("/log", new TextEncoder().encode("three\n"));
        expect(text(fs, "/log")).toBe("one\ntwo\nthree\n");
        expectError(() => fs.appendFile("/", "x"), "EISDIR");
      }, small));

    it("writes at an offset inside, across and past chunk boundaries, zero-filling gaps", () =>
      run((fs) => {
        fs.writeFile("/w", "0123456789abcdefghij");
        expect(fs.write("/w", "XY", 7)).toBe(2);
        expect(text(fs, "/w")).toBe("0123456XY9abcdefghij");
        fs.write("/w", "__", 20);
        expect(text(fs, "/w")).toBe("0123456XY9abcdefghij__");
        fs.write("/w", "!", 30);
        expect(text(fs, "/w")).toBe("0123456XY9abcdefghij__\0\0\0\0\0\0\0\0!");
        expect(fs.stat("/w").size).toBe(31);
        fs.writeFile("/e", "");
        fs.write("/e", "z", 17);
        expect(fs.readFile("/e")).toEqual(new Uint8Array([...new Array(17).fill(0), 122]));
      }, small));

    it("overwrites whole chunks and partial edges in one write, keeping the bytes around them", () =>
      run((fs) => {
        const original = bytes(40, 1);
        fs.writeFile("/o", original);
        // From the middle of chunk 0 to the middle of chunk 4: chunks 1 to 3 are covered whole.
        const patch = bytes(30, 2);
        fs.write("/o", patch, 5);
        const expected = original.slice();
        expected.set(patch, 5);
        expect(fs.readFile("/o")).toEqual(expected);
        // Past the end, starting on a chunk boundary: whole chunks and a shorter last one.
        const tail = bytes(13, 3);
        fs.write("/o", tail, 32);
        expect(fs.readFile("/o")).toEqual(new Uint8Array([...expected.subarray(0, 32), ...tail]));
      }, small));

    it("rewrites only the chunks a positional write touches", () =>
      run((fs) => {
        fs.writeFile("/big", bytes(64));
        const chunksBefore = (fs.changesSince(0).entries.find((e) => e.path === "/big") as Extract<ChangeEntry, { deleted: false }>).chunks!;
        fs.write("/big", "AB", 33);
        const chunksAfter = (fs.changesSince(0).entries.find((e) => e.path === "/big") as Extract<ChangeEntry, { deleted: false }>).chunks!;
        expect(chunksAfter.map((hash, index) => hash !== chunksBefore[index])).toEqual([false, false, false, false, true, false, false, false]);
      }, small));

    it("fails with ENOENT, EISDIR and EINVAL without changing anything", () =>
      run((fs) => {
        fs.mkdir("/d");
        fs.writeFile("/f", "x");
        const before = snapshot(fs);
        expectError(() => fs.write("/missing", "x", 0), "ENOENT");
        expectError(() => fs.write("/d", "x", 0), "EISDIR");
        expectError(() => fs.write("/f", "x", -1), "EINVAL");
        expectError(() => fs.truncate("/f", -5), "EINVAL");
        expectError(() => fs.truncate("/d", 0), "EISDIR");
        expect(snapshot(fs)).toEqual(before);
      }));

    it("truncates mid-chunk, on a boundary, to zero, and extends with zeros", () =>
      run((fs) => {
        fs.writeFile("/t", "0123456789abcdefghij");
        fs.truncate("/t", 13);
        expect(text(fs, "/t")).toBe("0123456789abc");
        fs.truncate("/t", 8);
        expect(text(fs, "/t")).toBe("01234567");
        fs.truncate("/t", 11);
        expect(text(fs, "/t")).toBe("01234567\0\0\0");
        fs.truncate("/t");
        expect(fs.stat("/t").size).toBe(0);
        expect(fs.usage().chunks).toBe(0);
      }, small));
  });

  describe("limits", () => {
    it("fails with EFBIG past the file size limit and keeps the old content", () =>
      run(
        (fs) => {
          fs.writeFile("/f", bytes(100));
          const before = snapshot(fs);
          expectError(() => fs.writeFile("/f", bytes(101)), "EFBIG", "/f");
          expectError(() => fs.writeFile("/g", bytes(101)), "EFBIG", "/g");
          expectError(() => fs.appendFile("/f", "x"), "EFBIG");
          expectError(() => fs.write("/f", "x", 100), "EFBIG");
          expectError(() => fs.truncate("/f", 101), "EFBIG");
          expect(snapshot(fs)).toEqual(before);
        },
        { ...small, maxFileSize: 100 },
      ));

    it("fails with ENOSPC past the workspace limit, leaving no file and no chunks", () =>
      run(
        (fs) => {
          fs.writeFile("/a", bytes(60, 1));
          const before = snapshot(fs);
          expectError(() => fs.writeFile("/b", bytes(60, 2)), "ENOSPC", "/b");
          expectError(() => fs.writeFile("/a", bytes(200, 3)), "ENOSPC");
          expect(snapshot(fs)).toEqual(before);
          // Identical content is stored once, so a copy fits.
          fs.writeFile("/copy", bytes(60, 1));
          expect(fs.usage().storedBytes).toBe(60);
          // Removing the last reference frees room.
          fs.writeFile("/a", "tiny");
          fs.rm("/copy");
          fs.writeFile("/b", bytes(60, 2));
          expect(fs.usage().storedBytes).toBe(64);
        },
        { ...small, maxWorkspaceBytes: 100 },
      ));
  });

  describe("content-addressed chunks", () => {
    it("stores identical content once and frees chunks with their last reference", () =>
      run((fs) => {
        const data = bytes(64);
        fs.writeFile("/one", data);
        fs.writeFile("/two", data);
        fs.mkdir("/d");
        fs.writeFile("/d/three", data);
        let usage = fs.usage();
        expect(usage).toMatchObject({ files: 3, logicalBytes: 192, storedBytes: 64, dedupSavedBytes: 128, chunks: 8 });
        fs.unlink("/one");
        expect(fs.usage()).toMatchObject({ storedBytes: 64, chunks: 8 });
        fs.writeFile("/two", "other");
        expect(fs.usage()).toMatchObject({ storedBytes: 69, chunks: 9 });
        fs.rm("/d", { recursive: true });
        usage = fs.usage();
        expect(usage).toMatchObject({ files: 1, storedBytes: 5, chunks: 1 });
        fs.rm("/two");
        expect(fs.usage()).toMatchObject({ files: 0, storedBytes: 0, chunks: 0, logicalBytes: 0 });
      }, small));

    it("defers freeing content to collectGarbage when asked, and can take it back meanwhile", () =>
      run(
        (fs) => {
          const data = bytes(16, 7);
          fs.writeFile("/f", data);
          const [first] = fs.changesSince(0).entries.flatMap((entry) => (entry.deleted ? [] : (entry.chunks ?? [])));
          fs.writeFile("/f", "other");
          // Freed for accounting, but its bytes stay until collected: it can be taken again without them.
          expect(fs.usage()).toMatchObject({ storedBytes: 5, chunks: 1 });
          expect(fs.missingChunks([first!])).toEqual([]);
          fs.writeFileChunks("/back", [first!], 8);
          expect(fs.usage()).toMatchObject({ storedBytes: 13, chunks: 2 });
          fs.writeFile("/g", data);
          fs.rm("/back");
          fs.rm("/g");
          expect(fs.collectGarbage()).toBe(2);
          expect(fs.collectGarbage()).toBe(0);
          expect(fs.missingChunks([first!])).toEqual([first]);
          expect(fs.chunk(first!)).toBeUndefined();
          // Written again after collection: stored afresh.
          fs.writeFile("/h", data);
          expect(text(fs, "/h")).toBe(new TextDecoder().decode(data));
          expect(fs.usage()).toMatchObject({ storedBytes: 21, chunks: 3 });
        },
        { ...small, deferChunkFrees: true },
      ));

    it("shares repeated chunks within one file", () =>
      run((fs) => {
        fs.writeFile("/zeros", new Uint8Array(80));
        expect(fs.usage()).toMatchObject({ storedBytes: 8, chunks: 1, logicalBytes: 80 });
        fs.write("/zeros", "x", 40);
        expect(fs.usage()).toMatchObject({ storedBytes: 16, chunks: 2 });
        fs.truncate("/zeros", 0);
        expect(fs.usage()).toMatchObject({ storedBytes: 0, chunks: 0 });
      }, small));
  });
}
