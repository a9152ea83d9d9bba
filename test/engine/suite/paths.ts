import { describe, expect, it } from "vitest";
import { expectError, type SuiteContext, snapshot, text } from "./helpers.ts";

/** Path normalisation and the errors a bad path gives. */
export function describePaths({ run }: SuiteContext): void {
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

    it("accepts a 255-byte name, rejects 256 bytes with ENAMETOOLONG, and has no depth limit", () =>
      run((fs) => {
        fs.writeFile(`/${"a".repeat(255)}`, "ok");
        expect(fs.exists(`/${"a".repeat(255)}`)).toBe(true);
        expectError(() => fs.writeFile(`/${"é".repeat(128)}`, "x"), "ENAMETOOLONG");
        expectError(() => fs.mkdir(`/ok/${"b".repeat(256)}/c`, { recursive: true }), "ENAMETOOLONG");
        expect(fs.readdir("/").map((entry) => entry.name)).toEqual(["a".repeat(255)]);
        // 20 names of 250 bytes: over 5,000 bytes from the root, as a tree made in a mount can be.
        const deep = `/${Array.from({ length: 20 }, () => "b".repeat(250)).join("/")}`;
        fs.mkdir(deep, { recursive: true });
        fs.writeFile(`${deep}/leaf.txt`, "deep");
        expect(fs.readFile(`${deep}/leaf.txt`, { encoding: "utf8" })).toBe("deep");
      }));

    it("reports errors with code, errno, path and a plain sentence", () =>
      run((fs) => {
        const error = expectError(() => fs.readFile("/src/app.ts"), "ENOENT", "/src/app.ts");
        expect(error.errno).toBe(2);
        expect(error.message).toMatch(/^ENOENT: \/src\/app\.ts does not exist/);
      }));
  });
}
