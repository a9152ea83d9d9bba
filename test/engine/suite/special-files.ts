import { describe, expect, it } from "vitest";
import type { ChangeEntry } from "../../../src/workspace-do/engine.ts";
import { applyChanges } from "../../../src/workspace-do/sync.ts";
import { clock, expectError, type SuiteContext, snapshot } from "./helpers.ts";

/** FIFOs, sockets and devices (mknod), and the setters that never follow a symlink. */
export function describeSpecialFiles({ run }: SuiteContext): void {
  describe("special files", () => {
    it("makes FIFOs, sockets and devices with their mode, owner and device number", () =>
      run((fs) => {
        const owner = { uid: 1000, gid: 100 };
        fs.mknod("/pipe", "fifo", { mode: 0o600, owner });
        fs.mknod("/sock", "socket", { mode: 0o755 });
        fs.mknod("/null", "character-device", { mode: 0o666, rdev: 0x103 });
        fs.mknod("/dev/sda", "block-device", { rdev: 0x800, parents: true });
        expect(fs.lstat("/pipe")).toMatchObject({ type: "fifo", mode: 0o600, uid: 1000, gid: 100, size: 0, rdev: 0, nlink: 1 });
        expect(fs.lstat("/sock")).toMatchObject({ type: "socket", mode: 0o755, rdev: 0 });
        expect(fs.lstat("/null")).toMatchObject({ type: "character-device", mode: 0o666, rdev: 0x103 });
        expect(fs.stat("/dev/sda")).toMatchObject({ type: "block-device", mode: 0o644, rdev: 0x800 });
        expect(fs.readdir("/")).toEqual([
          { name: "dev", type: "directory" },
          { name: "null", type: "character-device" },
          { name: "pipe", type: "fifo" },
          { name: "sock", type: "socket" },
        ]);
        expect(fs.usage()).toMatchObject({ files: 0, directories: 2, specialFiles: 4 });
      }));

    it("refuses content through them with EINVAL, a taken name with EEXIST and an unknown type, changing nothing", () =>
      run((fs) => {
        fs.mknod("/pipe", "fifo");
        fs.writeFile("/f", "x");
        const before = snapshot(fs);
        const error = expectError(() => fs.readFile("/pipe"), "EINVAL", "/pipe");
        expect(error.message).toBe("EINVAL: /pipe is a fifo, not a regular file; it holds no content in the workspace");
        expectError(() => fs.writeFile("/pipe", "x"), "EINVAL", "/pipe");
        expectError(() => fs.write("/pipe", "x", 0), "EINVAL", "/pipe");
        expectError(() => fs.truncate("/pipe", 3), "EINVAL", "/pipe");
        expectError(() => fs.mknod("/f", "fifo"), "EEXIST", "/f");
        expectError(() => fs.mknod("/", "socket"), "EEXIST", "/");
        expectError(() => fs.mknod("/x", "file" as never), "EINVAL");
        expectError(() => fs.mknod("/x", "character-device", { rdev: -1 }), "EINVAL");
        expectError(() => fs.mknod("/no/such/x", "fifo"), "ENOENT");
        expect(snapshot(fs)).toEqual(before);
      }));

    it("are renamed, linked, copied and removed like files, and keep their type", () =>
      run((fs) => {
        fs.mknod("/tty", "character-device", { rdev: 0x500, mode: 0o620 });
        fs.rename("/tty", "/tty0");
        fs.link("/tty0", "/tty1");
        expect(fs.lstat("/tty1")).toMatchObject({ type: "character-device", rdev: 0x500, nlink: 2, ino: fs.lstat("/tty0").ino });
        fs.copy("/tty0", "/copy");
        expect(fs.lstat("/copy")).toMatchObject({ type: "character-device", rdev: 0x500, mode: 0o620, nlink: 1 });
        fs.mkdir("/d");
        fs.mknod("/d/p", "fifo");
        fs.copy("/d", "/e", { recursive: true });
        expect(fs.lstat("/e/p").type).toBe("fifo");
        fs.unlink("/tty0");
        fs.rm("/d", { recursive: true });
        expect(fs.readdir("/").map((entry) => entry.name)).toEqual(["copy", "e", "tty1"]);
      }));

    it("reach another replica through the change log with type and device number", () =>
      run((fs) => {
        fs.mknod("/p", "fifo", { mode: 0o640, owner: { uid: 7, gid: 8 } });
        fs.mknod("/d/blk", "block-device", { rdev: 0x801, parents: true });
        const entries = fs.changesSince(0).entries;
        const blk = entries.find((entry) => entry.path === "/d/blk") as Extract<ChangeEntry, { deleted: false }>;
        expect(blk.stats).toMatchObject({ type: "block-device", rdev: 0x801 });
        expect(blk.chunks).toBeUndefined();
        // Applied on the same engine after removal, as a replica applies a peer's page.
        fs.rm("/p");
        fs.rm("/d", { recursive: true });
        applyChanges(fs, entries);
        expect(fs.lstat("/p")).toMatchObject({ type: "fifo", mode: 0o640, uid: 7, gid: 8 });
        expect(fs.lstat("/d/blk")).toMatchObject({ type: "block-device", rdev: 0x801 });
        // A path whose device number changed is replaced.
        const changed = { ...blk, stats: { ...blk.stats, rdev: 0x802 } };
        applyChanges(fs, [changed]);
        expect(fs.lstat("/d/blk").rdev).toBe(0x802);
      }));
  });

  describe("lchown and lutimes", () => {
    it("change a symlink itself and leave its target as it was", () => {
      const time = clock();
      return run(
        (fs) => {
          fs.writeFile("/f", "x");
          fs.symlink("f", "/l");
          const target = fs.stat("/f");
          time.advance(5000);
          fs.lchown("/l", 1000, 100);
          fs.lutimes("/l", 1_000_000, 2_000_000);
          expect(fs.lstat("/l")).toMatchObject({ type: "symlink", uid: 1000, gid: 100, atimeMs: 1_000_000, mtimeMs: 2_000_000, ctimeMs: time.now() });
          expect(fs.stat("/f")).toEqual(target);
          // A dangling link can be changed too; the followed forms cannot reach it.
          fs.symlink("/gone", "/dangling");
          fs.lchown("/dangling", 5, 5);
          expect(fs.lstat("/dangling").uid).toBe(5);
          expectError(() => fs.chown("/dangling", 5, 5), "ENOENT", "/gone");
          expectError(() => fs.lutimes("/l", Number.NaN, 0), "EINVAL");
        },
        { now: time.now },
      );
    });
  });
}
