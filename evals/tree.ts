/**
 * Snapshots of a file tree, read one way or another (the workspace's files route, a wsd mount, a
 * plain directory), so checks judge one value and two views can be compared path by path.
 */
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createTwoFilesPatch } from "diff";
import { comparePaths, joinPath, parentOf } from "../src/workspace-do/paths.ts";

export type Entry = { type: "file"; bytes: Uint8Array } | { type: "directory" } | { type: "symlink"; target: string };

/** Every path below the root (not the root itself), by absolute workspace path. */
export type Snapshot = Map<string, Entry>;

/** The tree a set of files makes, with the directories their paths imply. */
export function snapshotOfFiles(files: Map<string, Uint8Array>): Snapshot {
  const tree: Snapshot = new Map();
  for (const [path, bytes] of files) {
    tree.set(path, { type: "file", bytes });
    for (let dir = parentOf(path); dir !== "/"; dir = parentOf(dir)) tree.set(dir, { type: "directory" });
  }
  return tree;
}

/** Reads a local directory (a wsd mount or the peer's folder) with plain async fs calls. */
export async function snapshotDirectory(root: string): Promise<Snapshot> {
  const tree: Snapshot = new Map();
  const visit = async (dir: string, path: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const child = joinPath(path, entry.name);
      const local = join(dir, entry.name);
      const stats = await lstat(local);
      if (stats.isDirectory()) {
        tree.set(child, { type: "directory" });
        await visit(local, child);
      } else if (stats.isSymbolicLink()) {
        tree.set(child, { type: "symlink", target: await readlink(local) });
      } else {
        tree.set(child, { type: "file", bytes: new Uint8Array(await readFile(local)) });
      }
    }
  };
  await visit(root, "/");
  return tree;
}

/** Writes a snapshot's files and directories under `root` (which may exist). */
export async function writeSnapshot(tree: Snapshot, root: string): Promise<void> {
  for (const [path, entry] of [...tree].sort(([a], [b]) => comparePaths(a, b))) {
    const local = join(root, path);
    if (entry.type === "directory") await mkdir(local, { recursive: true });
    else if (entry.type === "file") {
      await mkdir(dirname(local), { recursive: true });
      await writeFile(local, entry.bytes);
    }
  }
}

/** The differences between two views of one tree, one line each, at most `limit`; empty when equal. */
export function diffSnapshots(a: Snapshot, b: Snapshot, labels: [string, string], limit = 5): string[] {
  const out: string[] = [];
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort(comparePaths);
  for (const path of paths) {
    const [left, right] = [a.get(path), b.get(path)];
    const difference = !left ? `only in ${labels[1]}` : !right ? `only in ${labels[0]}` : entryDifference(left, right, labels);
    if (difference) out.push(`${path}: ${difference}`);
  }
  return out.length > limit ? [...out.slice(0, limit), `… ${out.length - limit} more`] : out;
}

function entryDifference(left: Entry, right: Entry, labels: [string, string]): string | undefined {
  if (left.type !== right.type) return `a ${left.type} in ${labels[0]}, a ${right.type} in ${labels[1]}`;
  if (left.type === "file" && right.type === "file" && !sameBytes(left.bytes, right.bytes)) {
    return `content differs (${left.bytes.length} B in ${labels[0]}, ${right.bytes.length} B in ${labels[1]})`;
  }
  if (left.type === "symlink" && right.type === "symlink" && left.target !== right.target) return "symlink targets differ";
  return undefined;
}

export const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.from(a).equals(b);

/**
 * What a task did to its tree, as a reviewer reads it: a unified diff of each text file that
 * changed, a line for each binary file, directory or symlink that came, went or changed; cut at
 * `maxChars`. Empty when the trees are equal.
 */
export function treePatch(before: Snapshot, after: Snapshot, maxChars = 20_000): string {
  const out: string[] = [];
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const text = (entry: Entry | undefined): string | undefined => {
    if (!entry) return "";
    if (entry.type !== "file" || entry.bytes.includes(0)) return undefined;
    try {
      return decoder.decode(entry.bytes);
    } catch {
      return undefined;
    }
  };
  for (const path of [...new Set([...before.keys(), ...after.keys()])].sort(comparePaths)) {
    const [old, now] = [before.get(path), after.get(path)];
    if (old && now && !entryDifference(old, now, ["before", "after"])) continue;
    const [oldText, newText] = [text(old), text(now)];
    if ((old?.type ?? "file") === "file" && (now?.type ?? "file") === "file" && oldText !== undefined && newText !== undefined) {
      out.push(
        createTwoFilesPatch(old ? `a${path}` : "/dev/null", now ? `b${path}` : "/dev/null", oldText, newText, undefined, undefined, { context: 2 }).trimEnd(),
      );
    } else {
      out.push(`${path}: ${!old ? `added (${now!.type})` : !now ? `deleted (${old.type})` : (entryDifference(old, now, ["before", "after"]) ?? "changed")}`);
    }
  }
  const patch = out.join("\n");
  return patch.length > maxChars ? `${patch.slice(0, maxChars)}\n… cut at ${maxChars} characters` : patch;
}
