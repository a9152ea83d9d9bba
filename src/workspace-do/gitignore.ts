import ignore from "ignore";
import type { FileType, WorkspaceFs } from "./engine.ts";
import { isFsError } from "./errors.ts";
import { baseName, joinPath, parentOf } from "./paths.ts";

/**
 * Whether git would ignore an entry: `(path, type) => boolean`, true for "leave it out".
 * `path` is absolute and normalized (as a walk yields it).
 */
export type IgnoreFilter = (path: string, type: FileType) => boolean;

/** A larger .gitignore is not read (it is then as if absent). */
export const MAX_GITIGNORE_BYTES = 1024 * 1024;

interface Directory {
  /** Its .gitignore, if it has one that could be read. */
  rules: ignore.Ignore | undefined;
  /** It holds `.git`: the root of a repository, above which no .gitignore applies. */
  repoRoot: boolean;
}

/**
 * The ignore rules of ripgrep and git for one search: entries named `.git` (of any type), and
 * what `.gitignore` files ignore. Each .gitignore applies to the paths below its directory,
 * relative to it (with `!` negation, `/` anchoring, `dir/` for directories only, `**`); a
 * deeper one overrules a shallower one, and none above the nearest directory holding `.git`
 * applies. They are read lazily, once per directory, for the filter's lifetime: make one
 * filter per search. A .gitignore that is no regular file (git does not follow a symlinked
 * one), cannot be read, or is over {@link MAX_GITIGNORE_BYTES} is skipped.
 *
 * Ask only about entries whose parent directory the caller walks into, top-down, pruning
 * ignored directories, as a walk does. The place a search starts is never tested itself, so,
 * as with ripgrep, searching inside an ignored directory (say `/node_modules/zod`) searches
 * it: a .gitignore that ignores a directory the caller has entered anyway is not consulted
 * for the entries below it.
 *
 * Unlike ripgrep, a .gitignore applies without a `.git` anywhere above it (a workspace need
 * not be a repository). `.git/info/exclude` and global excludes are not read.
 */
export function createIgnoreFilter(fs: WorkspaceFs): IgnoreFilter {
  const directories = new Map<string, Directory>();
  const directory = (dir: string): Directory => {
    let found = directories.get(dir);
    if (!found) {
      found = { rules: readRules(fs, joinPath(dir, ".gitignore")), repoRoot: lstatType(fs, joinPath(dir, ".git")) !== undefined };
      directories.set(dir, found);
    }
    return found;
  };

  return (path, type) => {
    if (baseName(path) === ".git") return true;
    const parent = parentOf(path);
    // The deepest .gitignore with a verdict on the path decides.
    for (let dir = parent; ; dir = parentOf(dir)) {
      const { rules, repoRoot } = directory(dir);
      const verdict = rules && verdictOf(rules, dir, parent, path, type);
      if (verdict !== undefined) return verdict;
      if (repoRoot || dir === "/") return false;
    }
  };
}

/** True (ignored), false (re-included with `!`) or undefined (no rule speaks) for `path` below `dir`. */
function verdictOf(rules: ignore.Ignore, dir: string, parent: string, path: string, type: FileType): boolean | undefined {
  // `ignore` also ignores whatever lies below a directory its rules ignore. The caller walked
  // into `parent`, so when these rules ignore it they were overruled (by a deeper .gitignore, or
  // by the search starting inside it): they cannot tell about what lies below.
  if (parent !== dir && rules.test(`${below(dir, parent)}/`).ignored) return undefined;
  const rel = below(dir, path);
  const result = rules.test(type === "directory" ? `${rel}/` : rel);
  return result.ignored ? true : result.unignored ? false : undefined;
}

function readRules(fs: WorkspaceFs, path: string): ignore.Ignore | undefined {
  let text: string;
  try {
    const stats = fs.lstat(path);
    if (stats.type !== "file" || stats.size > MAX_GITIGNORE_BYTES) return undefined;
    text = fs.readFile(path, { encoding: "utf8" });
  } catch (error) {
    if (isFsError(error)) return undefined;
    throw error;
  }
  // Case-sensitive, as git is by default on Linux and ripgrep always is.
  return ignore({ ignorecase: false, allowRelativePaths: true }).add(text);
}

function lstatType(fs: WorkspaceFs, path: string): FileType | undefined {
  try {
    return fs.lstat(path).type;
  } catch (error) {
    if (isFsError(error)) return undefined;
    throw error;
  }
}

/** `path` relative to `dir`, an ancestor of it. */
const below = (dir: string, path: string) => (dir === "/" ? path.slice(1) : path.slice(dir.length + 1));
