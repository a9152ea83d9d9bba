import { describe, expect, it } from "vitest";
import { hashChunk } from "../../src/workspace-do/chunks.ts";
import type { ChangeEntry, WorkspaceFs, WorkspaceFsOptions } from "../../src/workspace-do/engine.ts";
import { type ErrnoCode, FsError } from "../../src/workspace-do/errors.ts";
import { find, grep } from "../../src/workspace-do/search.ts";

/**
 * The engine's behaviour, written once and run on both hosts: Node (`node:sqlite`) and workerd
 * (a real SQLite-backed Durable Object).
 */
export interface EngineHost {
  /**
   * Runs `body` against fresh, empty storage. `open` makes an engine over that storage; call it
   * again to reopen the same database, as a restarted host would.
   */
  withStorage(body: (open: (options?: WorkspaceFsOptions) => WorkspaceFs) => void | Promise<void>): Promise<void>;
}

const text = (fs: WorkspaceFs, path: string) => fs.readFile(path, { encoding: "utf8" });

function expectError(fn: () => unknown, code: ErrnoCode, path?: string): FsError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(FsError);
  const error = caught as FsError;
  expect(error.code).toBe(code);
  if (path !== undefined) expect(error.path).toBe(path);
  expect(error.message.startsWith(`${code}: `)).toBe(true);
  return error;
}

async function expectRejection(promise: Promise<unknown>, code: ErrnoCode): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(FsError);
  await expect(promise).rejects.toMatchObject({ code });
}

/** Everything observable about a tree, to prove a failed operation changed nothing. */
function snapshot(fs: WorkspaceFs) {
  const entries = [...fs.walk("/")].map((entry) => {
    const stats = fs.lstat(entry.path);
    const content = entry.type === "file" ? hashChunk(fs.readFile(entry.path)) : entry.type === "symlink" ? fs.readlink(entry.path) : "";
    return { ...entry, stats, content };
  });
  return { entries, usage: fs.usage(), changes: fs.changesSince(0, { limit: 100_000 }) };
}

function bytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  return out;
}

function clock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms = 1000) => (now += ms) };
}

async function* pieces(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < data.byteLength; offset += size) yield data.subarray(offset, offset + size);
}

export function engineSuite(host: EngineHost): void {
  const run = (body: (fs: WorkspaceFs) => void | Promise<void>, options?: WorkspaceFsOptions) => host.withStorage((open) => body(open(options)));
  const small = { chunkSize: 8 };

  describe("paths", () => {
    it("normalizes relative, dotted and doubled paths, never above the root", () =>
      run((fs) => {
        fs.writeFile("a.txt", "x");
        expect(text(fs, "/a.txt")).toBe("x");
        fs.mkdir("/d/e", { recursive: true });
        fs.writeFile("/d/./e//f.txt", "y");
        expect(text(fs, "/d/e/../e/f.txt")).toBe("y");
        expect(text(fs, "/../../a.txt")).toBe("x");
        expect(fs.realpath("/d/e/..")).toBe("/d");
      }));

    it("rejects NUL bytes with EINVAL and an empty path with ENOENT, changing nothing", () =>
      run((fs) => {
        const before = snapshot(fs);
        expectError(() => fs.writeFile("/a\0b", "x"), "EINVAL");
        expectError(() => fs.writeFile("", "x"), "ENOENT");
        expectError(() => fs.mkdir("/x\0"), "EINVAL");
        expect(snapshot(fs)).toEqual(before);
      }));

    it("accepts a 255-byte name and rejects 256 bytes and paths over 4096 bytes with ENAMETOOLONG", () =>
      run((fs) => {
        fs.writeFile(`/${"a".repeat(255)}`, "ok");
        expect(fs.exists(`/${"a".repeat(255)}`)).toBe(true);
        expectError(() => fs.writeFile(`/${"é".repeat(128)}`, "x"), "ENAMETOOLONG");
        const deep = Array.from({ length: 20 }, () => "b".repeat(250)).join("/");
        expectError(() => fs.mkdir(deep, { recursive: true }), "ENAMETOOLONG");
        expect(fs.readdir("/").map((entry) => entry.name)).toEqual(["a".repeat(255)]);
      }));

    it("reports errors with code, errno, path and a plain sentence", () =>
      run((fs) => {
        const error = expectError(() => fs.readFile("/src/app.ts"), "ENOENT", "/src/app.ts");
        expect(error.errno).toBe(2);
        expect(error.message).toMatch(/^ENOENT: \/src\/app\.ts does not exist/);
      }));
  });

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

  describe("symlinks", () => {
    it("resolves relative and absolute targets, also midway through a path", () =>
      run((fs) => {
        fs.mkdir("/a/b", { recursive: true });
        fs.writeFile("/a/b/f", "found");
        fs.symlink("b", "/a/rel");
        fs.symlink("/a/b", "/abs");
        fs.symlink("../a/b/f", "/a/up");
        expect(text(fs, "/a/rel/f")).toBe("found");
        expect(text(fs, "/abs/f")).toBe("found");
        expect(text(fs, "/a/up")).toBe("found");
        expect(fs.readlink("/a/rel")).toBe("b");
        expect(fs.realpath("/abs/f")).toBe("/a/b/f");
      }));

    it("follows chains up to 40 links and fails with ELOOP past that and on loops", () =>
      run((fs) => {
        fs.writeFile("/end", "end");
        fs.symlink("/end", "/l0");
        for (let i = 1; i < 40; i++) fs.symlink(`/l${i - 1}`, `/l${i}`);
        expect(text(fs, "/l39")).toBe("end");
        fs.symlink("/l39", "/l40");
        expectError(() => fs.readFile("/l40"), "ELOOP", "/l40");
        fs.symlink("/loop-b", "/loop-a");
        fs.symlink("/loop-a", "/loop-b");
        expectError(() => fs.stat("/loop-a"), "ELOOP");
        fs.symlink("self", "/self");
        expectError(() => fs.readFile("/self"), "ELOOP");
        expect(fs.lstat("/self").type).toBe("symlink");
      }));

    it("keeps dangling links: lstat and readlink work, stat fails with ENOENT", () =>
      run((fs) => {
        fs.symlink("/gone", "/dangling");
        expect(fs.readlink("/dangling")).toBe("/gone");
        expectError(() => fs.stat("/dangling"), "ENOENT");
        expectError(() => fs.readFile("/dangling"), "ENOENT");
      }));

    it("fails with EEXIST, EINVAL and ENOENT", () =>
      run((fs) => {
        fs.writeFile("/f", "");
        expectError(() => fs.symlink("x", "/f"), "EEXIST", "/f");
        expectError(() => fs.symlink("", "/g"), "EINVAL");
        expectError(() => fs.symlink("a\0b", "/g"), "EINVAL");
        expectError(() => fs.symlink("x", "/no/g"), "ENOENT");
        expectError(() => fs.readlink("/f"), "EINVAL", "/f");
        expectError(() => fs.readlink("/none"), "ENOENT");
        expect(fs.exists("/g")).toBe(false);
      }));
  });

  describe("hard links", () => {
    it("shares one inode between names until the last one goes", () =>
      run((fs) => {
        fs.writeFile("/a", "shared");
        fs.link("/a", "/b");
        expect(fs.stat("/a").nlink).toBe(2);
        expect(fs.stat("/b").ino).toBe(fs.stat("/a").ino);
        fs.appendFile("/b", "!");
        expect(text(fs, "/a")).toBe("shared!");
        fs.unlink("/a");
        expect(fs.stat("/b")).toMatchObject({ nlink: 1, size: 7 });
        expect(fs.usage().chunks).toBe(1);
        fs.unlink("/b");
        expect(fs.usage().chunks).toBe(0);
      }));

    it("fails with EPERM for directories, EEXIST and ENOENT", () =>
      run((fs) => {
        fs.mkdir("/d");
        fs.writeFile("/f", "");
        expectError(() => fs.link("/d", "/d2"), "EPERM", "/d");
        expectError(() => fs.link("/f", "/d"), "EEXIST");
        expectError(() => fs.link("/missing", "/x"), "ENOENT");
        expectError(() => fs.link("/f", "/no/x"), "ENOENT");
      }));
  });

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

  describe("chmod, chown and utimes", () => {
    it("changes metadata and ctime, following symlinks", () => {
      const time = clock();
      return run(
        (fs) => {
          fs.writeFile("/f", "x");
          fs.symlink("/f", "/l");
          time.advance(5000);
          fs.chmod("/l", 0o100600);
          fs.chown("/f", 1000, 100);
          fs.utimes("/f", new Date(1_000_000), 2_000_000);
          expect(fs.stat("/f")).toMatchObject({ mode: 0o600, uid: 1000, gid: 100, atimeMs: 1_000_000, mtimeMs: 2_000_000, ctimeMs: time.now() });
          expect(fs.lstat("/l").mode).toBe(0o777);
        },
        { now: time.now },
      );
    });

    it("gives what it creates the owner asked for, and root otherwise", () =>
      run(async (fs) => {
        const owner = { uid: 1000, gid: 100 };
        fs.mkdir("/d", { owner });
        fs.mkdir("/d/e/f", { recursive: true, owner });
        fs.writeFile("/d/f.txt", "x", { owner });
        await fs.writeFileStream("/d/s.bin", pieces(bytes(20), 5), { owner });
        fs.appendFile("/d/log", "y", { owner });
        fs.symlink("f.txt", "/d/l", { owner });
        for (const path of ["/d", "/d/e", "/d/e/f", "/d/f.txt", "/d/s.bin", "/d/log"]) expect(fs.stat(path), path).toMatchObject(owner);
        expect(fs.lstat("/d/l")).toMatchObject(owner);
        fs.writeFile("/d/f.txt", "rewritten", { owner: { uid: 5, gid: 5 } });
        expect(fs.stat("/d/f.txt")).toMatchObject(owner);
        fs.writeFile("/plain", "x");
        expect(fs.stat("/plain")).toMatchObject({ uid: 0, gid: 0 });
      }, small));

    it("rejects bad modes, ids and times with EINVAL and missing paths with ENOENT", () =>
      run((fs) => {
        fs.writeFile("/f", "x");
        const before = snapshot(fs);
        expectError(() => fs.chmod("/f", -1), "EINVAL");
        expectError(() => fs.chmod("/f", 1.5), "EINVAL");
        expectError(() => fs.chown("/f", -1, 0), "EINVAL");
        expectError(() => fs.utimes("/f", NaN, 0), "EINVAL");
        expectError(() => fs.chmod("/g", 0o644), "ENOENT");
        expect(snapshot(fs)).toEqual(before);
      }));
  });

  describe("find", () => {
    const tree = (fs: WorkspaceFs) => {
      for (const path of [
        "/src/a.ts",
        "/src/b.js",
        "/src/lib/c.ts",
        "/src/lib/d.md",
        "/node_modules/x/index.ts",
        "/README.md",
        "/.env",
        "/src/e1.ts",
        "/src/e2.ts",
        "/src/eb.ts",
      ]) {
        fs.mkdir(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
        fs.writeFile(path, path);
      }
    };
    const paths = (fs: WorkspaceFs, options: Parameters<typeof find>[1]) => find(fs, options).matches.map((match) => match.path);

    it("matches *, **, ?, {a,b} and [ab] against paths below the search root", () =>
      run((fs) => {
        tree(fs);
        expect(paths(fs, { pattern: "*.md" })).toEqual(["/README.md"]);
        expect(paths(fs, { pattern: "**/*.ts", path: "/src" })).toEqual(["/src/a.ts", "/src/e1.ts", "/src/e2.ts", "/src/eb.ts", "/src/lib/c.ts"]);
        expect(paths(fs, { pattern: "e?.ts", path: "/src" })).toEqual(["/src/e1.ts", "/src/e2.ts", "/src/eb.ts"]);
        expect(paths(fs, { pattern: "e[12].ts", path: "src" })).toEqual(["/src/e1.ts", "/src/e2.ts"]);
        expect(paths(fs, { pattern: "src/*.{js,md}" })).toEqual(["/src/b.js"]);
        expect(paths(fs, { pattern: "**/*.{js,md}" })).toEqual(["/README.md", "/src/b.js", "/src/lib/d.md"]);
        expect(paths(fs, { pattern: "*" })).toEqual(["/.env", "/README.md", "/node_modules", "/src"]);
        expect(paths(fs, { pattern: "*", dot: false })).toEqual(["/README.md", "/node_modules", "/src"]);
      }));

    it("prunes excluded directories without entering them", () =>
      run((fs) => {
        tree(fs);
        expect(paths(fs, { pattern: "**/*.ts", exclude: ["node_modules"] })).toEqual(["/src/a.ts", "/src/e1.ts", "/src/e2.ts", "/src/eb.ts", "/src/lib/c.ts"]);
        expect(paths(fs, { pattern: "**", exclude: ["src/lib", "*.ts", "node_modules"] })).toEqual(["/.env", "/README.md", "/src", "/src/b.js"]);
      }));

    it("pages through matches with a cursor, each exactly once", () =>
      run((fs) => {
        tree(fs);
        const all = paths(fs, { pattern: "**" });
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = find(fs, { pattern: "**", limit: 3, cursor });
          expect(page.matches.length).toBeLessThanOrEqual(3);
          seen.push(...page.matches.map((match) => match.path));
          cursor = page.nextCursor;
        } while (cursor);
        expect(seen).toEqual(all);
        expect(all).toHaveLength(14);
      }));

    it("fails with EINVAL for an empty pattern or bad limit, ENOENT and ENOTDIR for the root", () =>
      run((fs) => {
        tree(fs);
        expectError(() => find(fs, { pattern: "" }), "EINVAL");
        expectError(() => find(fs, { pattern: "*", limit: 0 }), "EINVAL");
        expectError(() => find(fs, { pattern: "*", path: "/nope" }), "ENOENT");
        expectError(() => find(fs, { pattern: "*", path: "/README.md" }), "ENOTDIR");
      }));

    const plant = (fs: WorkspaceFs, files: Record<string, string>) => {
      for (const [path, data] of Object.entries(files)) {
        fs.mkdir(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
        fs.writeFile(path, data);
      }
    };

    it("skips .git/ and what .gitignore ignores by default, and everything shows with gitignore false", () =>
      run((fs) => {
        plant(fs, {
          "/.gitignore": "# build output\nnode_modules/\n*.log\n",
          "/.git/HEAD": "ref: refs/heads/main\n",
          "/node_modules/x/index.ts": "",
          "/src/a.ts": "",
          "/src/debug.log": "",
          "/src/node_modules/y.ts": "",
          "/app.log": "",
          "/README.md": "",
        });
        expect(paths(fs, { pattern: "**" })).toEqual(["/.gitignore", "/README.md", "/src", "/src/a.ts"]);
        expect(paths(fs, { pattern: "*" })).toEqual(["/.gitignore", "/README.md", "/src"]);
        expect(paths(fs, { pattern: "**/*.ts" })).toEqual(["/src/a.ts"]);
        expect(paths(fs, { pattern: "**", gitignore: false })).toEqual([
          "/.git",
          "/.git/HEAD",
          "/.gitignore",
          "/README.md",
          "/app.log",
          "/node_modules",
          "/node_modules/x",
          "/node_modules/x/index.ts",
          "/src",
          "/src/a.ts",
          "/src/debug.log",
          "/src/node_modules",
          "/src/node_modules/y.ts",
        ]);
      }));

    it("skips entries named .git of any type without a .gitignore", () =>
      run((fs) => {
        plant(fs, { "/repo/.git/config": "", "/repo/a.ts": "", "/worktree/.git": "gitdir: /repo/.git/worktrees/w\n", "/worktree/b.ts": "" });
        expect(paths(fs, { pattern: "**" })).toEqual(["/repo", "/repo/a.ts", "/worktree", "/worktree/b.ts"]);
        expect(paths(fs, { pattern: "**/.git" })).toEqual([]);
        expect(paths(fs, { pattern: "**/.git", gitignore: false })).toEqual(["/repo/.git", "/worktree/.git"]);
      }));

    it("applies nested .gitignore files relative to their directory, anchored and negated, deeper ones overruling", () =>
      run((fs) => {
        plant(fs, {
          "/.gitignore": "*.log\nbuild/\n",
          "/pkg/.gitignore": "/dist\n*.tmp\n!important.tmp\n!keep.log\n",
          "/pkg/dist/a.js": "",
          "/pkg/sub/dist/b.js": "",
          "/dist/c.js": "",
          "/pkg/keep.log": "",
          "/pkg/other.log": "",
          "/pkg/x.tmp": "",
          "/pkg/important.tmp": "",
          "/pkg/sub/build/z.js": "",
          "/x.tmp": "",
        });
        expect(paths(fs, { pattern: "**" })).toEqual([
          "/.gitignore",
          "/dist",
          "/dist/c.js",
          "/pkg",
          "/pkg/.gitignore",
          "/pkg/important.tmp",
          "/pkg/keep.log",
          "/pkg/sub",
          "/pkg/sub/dist",
          "/pkg/sub/dist/b.js",
          "/x.tmp",
        ]);
      }));

    it("honours the .gitignore files of the directories above the search root", () =>
      run((fs) => {
        plant(fs, {
          "/.gitignore": "*.log\nbuild/\n/top-only\n",
          "/pkg/.gitignore": "secret/\n",
          "/pkg/sub/a.ts": "",
          "/pkg/sub/a.log": "",
          "/pkg/sub/build/b.ts": "",
          "/pkg/sub/secret/c.ts": "",
          "/pkg/sub/top-only/d.ts": "",
        });
        expect(paths(fs, { pattern: "**", path: "/pkg/sub" })).toEqual(["/pkg/sub/a.ts", "/pkg/sub/top-only", "/pkg/sub/top-only/d.ts"]);
        expect(paths(fs, { pattern: "*", path: "/pkg/sub" })).toEqual(["/pkg/sub/a.ts", "/pkg/sub/top-only"]);
      }));

    it("searches inside an ignored directory the search is pointed at, as ripgrep does", () =>
      run((fs) => {
        plant(fs, { "/.gitignore": "node_modules/\n", "/node_modules/zod/index.js": "", "/node_modules/zod/lib/x.js": "", "/node_modules/zod/.git/HEAD": "" });
        expect(paths(fs, { pattern: "**", path: "/node_modules/zod" })).toEqual([
          "/node_modules/zod/index.js",
          "/node_modules/zod/lib",
          "/node_modules/zod/lib/x.js",
        ]);
        expect(paths(fs, { pattern: "**" })).toEqual(["/.gitignore"]);
      }));

    it("lets directory-only patterns pass files and symlinks of the same name", () =>
      run((fs) => {
        plant(fs, { "/.gitignore": "out/\ncache/\n", "/out": "a file", "/cache/c.txt": "", "/src/out/o.js": "", "/src/cache": "a file too" });
        fs.symlink("/cache", "/lib-cache");
        fs.mkdir("/lib");
        fs.symlink("/cache", "/lib/cache");
        expect(paths(fs, { pattern: "**" })).toEqual(["/.gitignore", "/lib", "/lib/cache", "/lib-cache", "/out", "/src", "/src/cache"]);
      }));

    it("pages with a cursor through what is not ignored, each match exactly once", () =>
      run((fs) => {
        plant(fs, {
          "/.gitignore": "node_modules/\n*.log\n",
          "/a/.gitignore": "!keep.log\ngen/\n",
          "/a/1.ts": "",
          "/a/2.log": "",
          "/a/keep.log": "",
          "/a/gen/3.ts": "",
          "/a/b/4.ts": "",
          "/a/b/5.log": "",
          "/node_modules/m/6.ts": "",
          "/z/7.ts": "",
          "/z/node_modules/8.ts": "",
          "/.git/9": "",
        });
        const all = paths(fs, { pattern: "**" });
        expect(all).toEqual(["/.gitignore", "/a", "/a/.gitignore", "/a/1.ts", "/a/b", "/a/b/4.ts", "/a/keep.log", "/z", "/z/7.ts"]);
        for (const limit of [1, 2, 4]) {
          const seen: string[] = [];
          let cursor: string | undefined;
          do {
            const page = find(fs, { pattern: "**", limit, cursor });
            expect(page.matches.length).toBeLessThanOrEqual(limit);
            seen.push(...page.matches.map((match) => match.path));
            cursor = page.nextCursor;
          } while (cursor);
          expect(seen).toEqual(all);
        }
      }));
  });

  describe("grep", () => {
    const tree = (fs: WorkspaceFs) => {
      fs.mkdir("/src/lib", { recursive: true });
      fs.writeFile("/src/app.ts", "import x from 'x';\nconst TODO = 1;\n// todo: later\nexport default x;\n");
      fs.writeFile("/src/lib/util.ts", "export const a = 1;\r\nexport const b = 2;\r\n// TODO split\r\n");
      fs.writeFile("/src/notes.md", "TODO: docs\nno newline at end TODO");
      fs.writeFile("/src/image.bin", new Uint8Array([0x89, 0, 1, 2, 84, 79, 68, 79]));
    };

    it("finds regex and literal matches with line numbers, skipping binary files", () =>
      run((fs) => {
        tree(fs);
        const result = grep(fs, { pattern: "TODO" });
        expect(result.lines!.map((line) => `${line.path}:${line.line}:${line.text}`)).toEqual([
          "/src/app.ts:2:const TODO = 1;",
          "/src/lib/util.ts:3:// TODO split",
          "/src/notes.md:1:TODO: docs",
          "/src/notes.md:2:no newline at end TODO",
        ]);
        expect(result).toMatchObject({ filesSearched: 3, binaryFilesSkipped: 1 });
        expect(grep(fs, { pattern: "const [ab] =" }).lines!.map((line) => line.line)).toEqual([1, 2]);
        expect(grep(fs, { pattern: "x from 'x'", literal: true }).lines).toHaveLength(1);
        expect(grep(fs, { pattern: "a.b", literal: true }).lines).toHaveLength(0);
      }, small));

    it("ignores case, filters by include glob and searches one file", () =>
      run((fs) => {
        tree(fs);
        expect(grep(fs, { pattern: "todo", ignoreCase: true, include: "*.ts" }).lines!.map((line) => [line.path, line.line])).toEqual([
          ["/src/app.ts", 2],
          ["/src/app.ts", 3],
          ["/src/lib/util.ts", 3],
        ]);
        expect(grep(fs, { pattern: "todo", ignoreCase: true, include: "lib/*.ts", path: "/src" }).lines).toHaveLength(1);
        expect(grep(fs, { pattern: "export", path: "/src/app.ts" }).lines!.map((line) => line.line)).toEqual([4]);
      }));

    it("returns context lines around matches", () =>
      run((fs) => {
        fs.writeFile("/f", ["one", "two", "three", "four", "five", "six"].join("\n"));
        const [match] = grep(fs, { pattern: "four", context: 2 }).lines!;
        expect(match).toMatchObject({ line: 4, text: "four", before: ["two", "three"], after: ["five", "six"] });
        const first = grep(fs, { pattern: "one", context: 1 }).lines![0]!;
        expect(first).toMatchObject({ before: [], after: ["two"] });
      }, small));

    it("lists files with matches and counts per file", () =>
      run((fs) => {
        tree(fs);
        expect(grep(fs, { pattern: "TODO", mode: "files" }).files).toEqual([{ path: "/src/app.ts" }, { path: "/src/lib/util.ts" }, { path: "/src/notes.md" }]);
        expect(grep(fs, { pattern: "TODO", mode: "count" }).files).toEqual([
          { path: "/src/app.ts", count: 1 },
          { path: "/src/lib/util.ts", count: 1 },
          { path: "/src/notes.md", count: 2 },
        ]);
      }));

    it("pages within and across files and stops once the page is full", () =>
      run((fs) => {
        fs.mkdir("/d");
        for (const name of ["a", "b", "c"]) fs.writeFile(`/d/${name}`, Array.from({ length: 5 }, (_, i) => `hit ${name}${i}`).join("\n"));
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = grep(fs, { pattern: "hit", limit: 4, cursor });
          seen.push(...page.lines!.map((line) => line.text));
          cursor = page.nextCursor;
          pages++;
          if (cursor) expect(page.filesSearched).toBeLessThanOrEqual(2);
        } while (cursor);
        expect(seen).toEqual(["a", "b", "c"].flatMap((name) => Array.from({ length: 5 }, (_, i) => `hit ${name}${i}`)));
        expect(pages).toBe(4);
      }, small));

    it("fails with EINVAL for a bad regex or cursor and ENOENT for a missing path", () =>
      run((fs) => {
        tree(fs);
        const error = expectError(() => grep(fs, { pattern: "([a-z" }), "EINVAL");
        expect(error.message).toMatch(/not a valid regular expression/);
        expectError(() => grep(fs, { pattern: "" }), "EINVAL");
        expectError(() => grep(fs, { pattern: "x", cursor: "garbage" }), "EINVAL");
        expectError(() => grep(fs, { pattern: "x", path: "/nope" }), "ENOENT");
      }));

    it("skips ignored files by default, but searches an ignored file or directory named as the path", () =>
      run((fs) => {
        fs.mkdir("/node_modules/m", { recursive: true });
        fs.mkdir("/.git");
        fs.mkdir("/src");
        fs.writeFile("/.gitignore", "*.log\nnode_modules/\n");
        fs.writeFile("/src/.gitignore", "!keep.log\n");
        fs.writeFile("/app.ts", "const needle = 1;\n");
        fs.writeFile("/debug.log", "needle in a log\n");
        fs.writeFile("/src/keep.log", "kept needle\n");
        fs.writeFile("/src/drop.log", "dropped needle\n");
        fs.writeFile("/node_modules/m/index.js", "module needle\n");
        fs.writeFile("/.git/COMMIT_EDITMSG", "needle\n");
        const found = (options: Omit<Parameters<typeof grep>[1], "pattern">) =>
          grep(fs, { pattern: "needle", mode: "files", ...options }).files!.map((file) => file.path);
        expect(found({})).toEqual(["/app.ts", "/src/keep.log"]);
        expect(grep(fs, { pattern: "needle" })).toMatchObject({ filesSearched: 4 });
        expect(found({ path: "/src" })).toEqual(["/src/keep.log"]);
        expect(found({ path: "/debug.log" })).toEqual(["/debug.log"]);
        expect(found({ path: "/src/drop.log" })).toEqual(["/src/drop.log"]);
        expect(found({ path: "/node_modules" })).toEqual(["/node_modules/m/index.js"]);
        expect(found({ path: "/.git" })).toEqual(["/.git/COMMIT_EDITMSG"]);
        expect(found({ gitignore: false })).toEqual([
          "/.git/COMMIT_EDITMSG",
          "/app.ts",
          "/debug.log",
          "/node_modules/m/index.js",
          "/src/drop.log",
          "/src/keep.log",
        ]);
        expect(found({ include: "*.log" })).toEqual(["/src/keep.log"]);
      }));

    it("pages past ignored files, each match exactly once", () =>
      run((fs) => {
        fs.mkdir("/d/skip", { recursive: true });
        fs.writeFile("/d/.gitignore", "skip/\nb\n");
        for (const name of ["a", "b", "c", "skip/s"]) fs.writeFile(`/d/${name}`, Array.from({ length: 3 }, (_, i) => `hit ${name}${i}`).join("\n"));
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = grep(fs, { pattern: "hit", limit: 2, cursor });
          seen.push(...page.lines!.map((line) => line.text));
          cursor = page.nextCursor;
        } while (cursor);
        expect(seen).toEqual(["hit a0", "hit a1", "hit a2", "hit c0", "hit c1", "hit c2"]);
      }, small));
  });

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
