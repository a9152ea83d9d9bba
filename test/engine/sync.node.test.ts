import { describe, expect, it } from "vitest";
import { hashChunk } from "../../src/workspace-do/chunks.ts";
import { WorkspaceFs } from "../../src/workspace-do/engine.ts";
import { FsError } from "../../src/workspace-do/errors.ts";
import { openNodeSql } from "../../src/workspace-do/sql-node.ts";
import { applyChanges, chunksNamed } from "../../src/workspace-do/sync.ts";

/** The state-based sync primitives: a replica made equal to a source from its change log alone. */

const open = () => new WorkspaceFs(openNodeSql(":memory:"), { chunkSize: 8 });

/** Copies what changed in `source` after `since` into `replica`, a page at a time, sending only missing chunks. */
function mirror(source: WorkspaceFs, replica: WorkspaceFs, since = 0, limit = 3): { rev: number; chunksSent: number } {
  let cursor = since;
  let chunksSent = 0;
  for (;;) {
    const page = source.changesSince(cursor, { limit });
    const upload = replica.openUpload();
    try {
      replica.holdChunks(upload, chunksNamed(page.entries));
      const wanted = replica.missingChunks(chunksNamed(page.entries));
      for (const hash of wanted) {
        replica.stageChunk(upload, source.chunk(hash)!);
        chunksSent++;
      }
      applyChanges(replica, page.entries, { record: false });
    } finally {
      replica.closeUpload(upload);
    }
    cursor = page.rev;
    if (!page.more) return { rev: cursor, chunksSent };
  }
}

/** What a peer must agree on: paths, types, content, modes, owners, file times, link targets. */
function tree(fs: WorkspaceFs) {
  return [...fs.walk("/")].map(({ path, type }) => {
    const stats = fs.lstat(path);
    return {
      path,
      type,
      mode: stats.mode,
      uid: stats.uid,
      gid: stats.gid,
      ...(type === "file" && { size: stats.size, mtime: stats.mtimeMs, content: hashChunk(fs.readFile(path)) }),
      ...(type === "symlink" && { target: fs.readlink(path) }),
    };
  });
}

function build(fs: WorkspaceFs) {
  fs.mkdir("/src/lib", { recursive: true, owner: { uid: 1000, gid: 1000 } });
  fs.writeFile("/src/index.ts", "export * from './lib';\n");
  fs.writeFile(
    "/src/lib/big.bin",
    new Uint8Array(100).map((_, i) => i),
  );
  fs.writeFile(
    "/src/lib/copy.bin",
    new Uint8Array(100).map((_, i) => i),
  );
  fs.symlink("lib/big.bin", "/src/link");
  fs.chmod("/src/index.ts", 0o600);
  fs.utimes("/src/index.ts", 1_000_000, 2_000_000);
}

describe("sync primitives", () => {
  it("makes a replica equal to its source from the change log, one page at a time", () => {
    const source = open();
    const replica = open();
    build(source);
    const { rev } = mirror(source, replica);
    expect(rev).toBe(source.rev);
    expect(tree(replica)).toEqual(tree(source));
  });

  it("sends only chunks the replica lacks, once each", () => {
    const source = open();
    const replica = open();
    build(source);
    // 100 bytes in 8-byte chunks: 13 distinct, shared by big.bin and copy.bin; plus index.ts's 3.
    expect(mirror(source, replica).chunksSent).toBe(16);
    const cursor = source.rev;
    source.write("/src/lib/big.bin", "XY", 50);
    expect(mirror(source, replica, cursor).chunksSent).toBe(1);
    expect(tree(replica)).toEqual(tree(source));
  });

  it("follows renames, deletions, type changes and retargeted links", () => {
    const source = open();
    const replica = open();
    build(source);
    let cursor = mirror(source, replica).rev;
    source.rename("/src/lib", "/src/core");
    source.rm("/src/index.ts");
    source.rm("/src/link");
    source.symlink("core/copy.bin", "/src/link");
    source.mkdir("/src/index.ts");
    source.writeFile("/src/index.ts/inner.ts", "now a directory\n");
    cursor = mirror(source, replica, cursor).rev;
    expect(tree(replica)).toEqual(tree(source));
    source.rm("/src", { recursive: true });
    mirror(source, replica, cursor);
    expect(tree(replica)).toEqual([]);
  });

  it("keeps content whose old path is removed before its new path is written in the same page", () => {
    const source = open();
    const replica = open();
    source.writeFile("/a-old.txt", "moving content");
    const cursor = mirror(source, replica).rev;
    source.rename("/a-old.txt", "/b-new.txt");
    // The page lists the tombstone of /a-old.txt before /b-new.txt, which uses the same chunks.
    expect(source.changesSince(cursor).entries.map((entry) => entry.path)).toEqual(["/a-old.txt", "/b-new.txt"]);
    expect(mirror(source, replica, cursor).chunksSent).toBe(0);
    expect(replica.readFile("/b-new.txt", { encoding: "utf8" })).toBe("moving content");
  });

  it("is idempotent: applying the same page again changes nothing", () => {
    const source = open();
    const replica = open();
    build(source);
    mirror(source, replica);
    const before = tree(replica);
    mirror(source, replica);
    expect(tree(replica)).toEqual(before);
    expect(replica.usage()).toMatchObject({ chunks: 16, files: 3 });
  });

  it("keeps applied changes out of the replica's own change log, but records its local writes", () => {
    const source = open();
    const replica = open();
    build(source);
    mirror(source, replica);
    expect(replica.changesSince(0).entries).toEqual([]);
    replica.writeFile("/local.txt", "made here");
    expect(replica.changesSince(0).entries.map((entry) => entry.path)).toEqual(["/local.txt"]);
  });

  it("applies a page whole or not at all when a chunk is missing", () => {
    const source = open();
    const replica = open();
    source.writeFile("/a", "first file");
    source.writeFile("/b", "second file");
    const before = tree(replica);
    let caught: unknown;
    try {
      applyChanges(replica, source.changesSince(0).entries, { record: false });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FsError);
    expect((caught as FsError).code).toBe("EIO");
    expect(tree(replica)).toEqual(before);
    expect(replica.usage()).toMatchObject({ chunks: 0, files: 0 });
  });

  it("frees staged chunks no file took when the upload closes", () => {
    const replica = open();
    const upload = replica.openUpload();
    const hash = replica.stageChunk(upload, new TextEncoder().encode("orphan"));
    expect(replica.missingChunks([hash, hash, "f".repeat(64)])).toEqual(["f".repeat(64)]);
    replica.closeUpload(upload);
    expect(replica.missingChunks([hash])).toEqual([hash]);
    expect(replica.usage().storedBytes).toBe(0);
  });

  it("stages a call's chunks in one transaction, answering their hashes in order", () => {
    const replica = open();
    const upload = replica.openUpload();
    const encode = (text: string) => new TextEncoder().encode(text);
    const hashes = replica.stageChunks(upload, [encode("one"), encode("two"), encode("one")]);
    expect(hashes).toHaveLength(3);
    expect(hashes[2]).toBe(hashes[0]);
    expect(hashes[1]).not.toBe(hashes[0]);
    const other = replica.openUpload();
    expect(replica.stageChunk(other, encode("one"))).toBe(hashes[0]);
    replica.closeUpload(other);
    expect(replica.missingChunks(hashes)).toEqual([]);
    replica.writeFileChunks("/f", [hashes[1]!], 3);
    replica.closeUpload(upload);
    expect(replica.readFile("/f", { encoding: "utf8" })).toBe("two");
    expect(replica.missingChunks([hashes[0]!])).toEqual([hashes[0]]);
  });

  it("rejects a chunk list whose chunks before the last are not full, changing nothing", () => {
    const replica = open();
    const upload = replica.openUpload();
    const [one, two] = replica.stageChunks(upload, [new TextEncoder().encode("one"), new TextEncoder().encode("two")]);
    replica.writeFile("/f", "kept");
    expect(() => replica.writeFileChunks("/f", [one!, two!], 6)).toThrow(`EINVAL: /f cannot be written: chunk 1 of 2 holds 3 bytes, not ${replica.chunkSize}`);
    replica.closeUpload(upload);
    expect(replica.readFile("/f", { encoding: "utf8" })).toBe("kept");
    expect(replica.missingChunks([one!, two!])).toEqual([one, two]);
  });

  it("rejects content whose chunks do not add up to the size", () => {
    const replica = open();
    const upload = replica.openUpload();
    const hash = replica.stageChunk(upload, new TextEncoder().encode("12345"));
    expect(() => replica.writeFileChunks("/f", [hash], 6)).toThrow(/EINVAL: \/f cannot be written: its chunks hold 5 bytes, not 6/);
    replica.writeFileChunks("/f", [hash], 5);
    replica.closeUpload(upload);
    expect(replica.readFile("/f", { encoding: "utf8" })).toBe("12345");
  });
});
