import { describe, expect, it } from "vitest";
import { expectError, type SuiteContext, text } from "./helpers.ts";

/** Symbolic and hard links. */
export function describeLinks({ run }: SuiteContext): void {
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
}
