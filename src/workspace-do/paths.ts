import { FsError } from "./errors.ts";

/** Longest name of one entry, in UTF-8 bytes (Linux's NAME_MAX). */
export const NAME_MAX = 255;
/**
 * Longest symlink target, in UTF-8 bytes (Linux's PATH_MAX). Paths themselves have no limit:
 * Linux limits only the path a process passes in, which may be relative to a directory at any
 * depth, so a tree made in a mount can be deeper than 4,096 bytes from the workspace root.
 */
export const PATH_MAX = 4096;

const encoder = new TextEncoder();
// A UTF-16 unit is at most 3 UTF-8 bytes, so short names skip the encoding.
const nameTooLong = (name: string) => name.length * 3 > NAME_MAX && encoder.encode(name).length > NAME_MAX;

/**
 * Normalizes a workspace path: absolute (a relative path is taken from the root), `.` and
 * empty segments dropped, `..` applied lexically and never above the root. Rejects what no
 * path may hold: NUL bytes (EINVAL), an empty string (ENOENT, as POSIX says), a name over
 * 255 bytes (ENAMETOOLONG). Depth is unlimited (see {@link PATH_MAX}).
 */
export function normalizePath(input: string): string {
  if (typeof input !== "string") throw new FsError("EINVAL", String(input), "is not a path: paths are strings");
  if (input === "") throw new FsError("ENOENT", "''", "is an empty path; name a file such as /notes.txt");
  if (input.includes("\0")) throw new FsError("EINVAL", JSON.stringify(input), "contains a NUL byte, which no path may hold");
  const names: string[] = [];
  for (const name of input.split("/")) {
    if (name === "" || name === ".") continue;
    if (name === "..") names.pop();
    else {
      if (nameTooLong(name)) {
        throw new FsError("ENAMETOOLONG", input, `has a name longer than ${NAME_MAX} bytes`);
      }
      names.push(name);
    }
  }
  return `/${names.join("/")}`;
}

/** The names of a normalized path, root first: `/a/b` gives `["a", "b"]`, `/` gives `[]`. */
export const splitPath = (path: string): string[] => (path === "/" ? [] : path.slice(1).split("/"));

export const joinPath = (dir: string, name: string): string => (dir === "/" ? `/${name}` : `${dir}/${name}`);

export const parentOf = (path: string): string => {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
};

export const baseName = (path: string): string => path.slice(path.lastIndexOf("/") + 1);

/** True when `path` is `ancestor` or lies below it. */
export const isWithin = (path: string, ancestor: string): boolean => ancestor === "/" || path === ancestor || path.startsWith(`${ancestor}/`);

/**
 * Orders paths the way a sorted depth-first walk visits them: name by name, each compared by
 * code point (which is also UTF-8 byte order, SQLite's BINARY order). So `/a/z` < `/a.b`.
 */
export function comparePaths(a: string, b: string): number {
  const left = splitPath(a);
  const right = splitPath(b);
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const order = compareNames(left[i]!, right[i]!);
    if (order !== 0) return order;
  }
  return left.length - right.length;
}

export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}
