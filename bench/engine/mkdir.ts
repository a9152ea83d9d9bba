/** 3. mkdir of a tree 10x10x10. */
import { join } from "node:path";
import { DIRECTORY, RawDb, ROOT_INO } from "../raw.ts";
import { timeSync } from "../util.ts";
import { inTempDir, openEngine } from "./fixtures.ts";
import { check, measure, opsPerSec } from "./rows.ts";

const treeDirs: { path: string; parent: string; name: string }[] = [];
for (let a = 0; a < 10; a++) {
  treeDirs.push({ path: `/a${a}`, parent: "/", name: `a${a}` });
  for (let b = 0; b < 10; b++) {
    treeDirs.push({ path: `/a${a}/b${b}`, parent: `/a${a}`, name: `b${b}` });
    for (let c = 0; c < 10; c++) treeDirs.push({ path: `/a${a}/b${b}/c${c}`, parent: `/a${a}/b${b}`, name: `c${c}` });
  }
}
export const mkdirTree = measure({
  id: "mkdir_tree_10x10x10",
  label: "mkdir tree 10x10x10 (1,110 dirs)",
  unit: "ops/s",
  floorDoes: "1 txn per dir: inode + dirent rows, parent nlink/mtime update (parent ino known)",
});

export function benchMkdir(record: boolean): void {
  const push = (list: number[], value: number) => void (record && list.push(value));
  inTempDir("mkdir", (dir) => {
    const { fs, close } = openEngine(dir);
    try {
      push(
        mkdirTree.engine,
        opsPerSec(
          treeDirs.length,
          timeSync(() => {
            for (const { path } of treeDirs) fs.mkdir(path);
          }),
        ),
      );
      check("engine made 1,111 directories", fs.usage().directories === treeDirs.length + 1);
      check("engine nlink of /a0 is 12", fs.stat("/a0").nlink === 12);
    } finally {
      close();
    }
  });
  inTempDir("mkdir-raw", (dir) => {
    const raw = new RawDb(join(dir, "raw.db"));
    try {
      const inos = new Map<string, number>([["/", ROOT_INO]]);
      push(
        mkdirTree.floor,
        opsPerSec(
          treeDirs.length,
          timeSync(() => {
            for (const { path, parent, name } of treeDirs) inos.set(path, raw.mkdir(inos.get(parent)!, name));
          }),
        ),
      );
      const n = raw.q("SELECT count(*) AS n FROM inodes WHERE type = ?").get(DIRECTORY) as { n: number };
      check("floor made 1,111 directories", n.n === treeDirs.length + 1);
    } finally {
      raw.close();
    }
  });
}
