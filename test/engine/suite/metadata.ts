import { describe, expect, it } from "vitest";
import { bytes, clock, expectError, pieces, type SuiteContext, small, snapshot } from "./helpers.ts";

/** Mode, ownership and times. */
export function describeMetadata({ run }: SuiteContext): void {
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
}
