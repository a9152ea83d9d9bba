import { ABSENT, type CachedEntry, type DirectoryCache } from "./directory-cache.ts";
import { FsError } from "./errors.ts";
import { joinPath, normalizePath, splitPath } from "./paths.ts";
import { INODE_TYPE, ROOT_INO, TYPE_NAMES } from "./schema.ts";
import type { SqlDriver } from "./sql.ts";
import type { WriteOptions } from "./types.ts";

const MAX_SYMLINK_HOPS = 40;

/** Where a path leads: its parent directory, the final name, and the inode if it exists. */
export interface Located {
  /** The path with every symlink before the final name resolved. */
  path: string;
  parent: number;
  name: string;
  entry: CachedEntry | undefined;
}

/** A path that names something. */
export type Existing = Located & { entry: CachedEntry };

/**
 * Path resolution over the directory cache: the one resolver every operation uses, so `..`,
 * symlinks and the errors on the way (ENOENT, ENOTDIR, ELOOP) behave the same everywhere. It
 * reads the tree and fills the cache; the engine keeps the cache exact as it changes the tree.
 */
export class PathResolver {
  readonly #sql: SqlDriver;
  readonly #cache: DirectoryCache;

  constructor(sql: SqlDriver, cache: DirectoryCache) {
    this.#sql = sql;
    this.#cache = cache;
  }

  /**
   * Resolves every name of `path` but the last through the directory tree, following symlinks
   * (and the last one too when `followLast`). Fails with ENOENT, ENOTDIR or ELOOP.
   */
  locate(input: string, followLast: boolean): Located {
    const requested = normalizePath(input);
    let names = splitPath(requested);
    let parent = ROOT_INO;
    let dir = "/";
    let hops = 0;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const last = i === names.length - 1;
      const entry = this.#lookup(parent, name);
      const path = joinPath(dir, name);
      if (!entry) {
        if (last) return { path, parent, name, entry: undefined };
        throw new FsError("ENOENT", requested, `does not exist (there is no ${path})`);
      }
      if (entry.type === INODE_TYPE.symlink && (!last || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) throw new FsError("ELOOP", requested, `has more than ${MAX_SYMLINK_HOPS} levels of symbolic links`);
        const rest = names.slice(i + 1).join("/");
        const target = entry.target!.startsWith("/") ? entry.target! : joinPath(dir, entry.target!);
        names = splitPath(normalizePath(rest ? `${target}/${rest}` : target));
        parent = ROOT_INO;
        dir = "/";
        i = -1;
        if (names.length === 0) break;
        continue;
      }
      if (last) return { path, parent, name, entry };
      if (entry.type !== INODE_TYPE.directory) throw new FsError("ENOTDIR", requested, `is not reachable: ${path} is not a directory`);
      parent = entry.ino;
      dir = path;
    }
    return { path: "/", parent: ROOT_INO, name: "", entry: { ino: ROOT_INO, type: INODE_TYPE.directory, target: null } };
  }

  /** As {@link locate}, and ENOENT when the final name does not exist. */
  existing(path: string, followLast: boolean): Existing {
    const located = this.locate(path, followLast);
    if (!located.entry) throw new FsError("ENOENT", located.path, "does not exist");
    return located as Existing;
  }

  /** A regular file (following symlinks), or EISDIR / EINVAL. */
  file(path: string): { ino: number; path: string } {
    const { entry, path: at } = this.existing(path, true);
    if (entry.type === INODE_TYPE.directory) throw new FsError("EISDIR", at, "is a directory, not a file");
    if (entry.type !== INODE_TYPE.file) throw notRegular(at, entry.type);
    return { ino: entry.ino, path: at };
  }

  /** Where a write to `path` would go; fails as the write would (EISDIR, EEXIST, ENOENT…). */
  probeForWrite(path: string, options: WriteOptions): Located {
    const located = this.locate(path, true);
    if (located.path === "/" || located.entry?.type === INODE_TYPE.directory) throw new FsError("EISDIR", located.path, "is a directory, not a file");
    if (located.entry && options.exclusive) throw new FsError("EEXIST", located.path, "already exists");
    if (located.entry && located.entry.type !== INODE_TYPE.file) throw notRegular(located.path, located.entry.type);
    return located;
  }

  /** A directory's entries by name; the listing enters the directory cache, so a walk's paths resolve without queries. */
  children(ino: number): { name: string; ino: number; type: number }[] {
    const rows = this.#sql.all<{ name: string; ino: number; type: number; target: string | null }>(
      // BINARY order of UTF-8 text is code point order, the order compareNames gives.
      "SELECT d.name, d.ino, i.type, i.target FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? ORDER BY d.name",
      ino,
    );
    this.#cache.setListing(ino, rows);
    return rows;
  }

  hasChildren(ino: number): boolean {
    return this.#sql.one("SELECT 1 AS x FROM dirents WHERE parent = ? LIMIT 1", ino) !== undefined;
  }

  /** Paths below directory `ino`, relative (`/a`, `/a/b`), parents before children. */
  *descendants(ino: number, prefix: string): Generator<string> {
    for (const child of this.children(ino)) {
      const path = `${prefix}/${child.name}`;
      yield path;
      if (child.type === INODE_TYPE.directory) yield* this.descendants(child.ino, path);
    }
  }

  /** Every path at which inode `ino` appears (more than one for a hard-linked file). */
  pathsOf(ino: number): string[] {
    return this.#sql.all<{ parent: number; name: string }>("SELECT parent, name FROM dirents WHERE ino = ?", ino).map(({ parent, name }) => {
      let path = `/${name}`;
      for (let dir = parent; dir !== ROOT_INO; ) {
        const up = this.#sql.one<{ parent: number; name: string }>("SELECT parent, name FROM dirents WHERE ino = ?", dir)!;
        path = `/${up.name}${path}`;
        dir = up.parent;
      }
      return path;
    });
  }

  #lookup(parent: number, name: string): CachedEntry | undefined {
    const cached = this.#cache.get(parent, name);
    if (cached === ABSENT) return undefined;
    if (cached) return cached;
    const row = this.#sql.one<{ ino: number; type: number; target: string | null }>(
      "SELECT d.ino, i.type, i.target FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? AND d.name = ?",
      parent,
      name,
    );
    if (!row) return undefined;
    return this.#cache.set(parent, name, { ino: row.ino, type: row.type, target: row.target });
  }
}

/** EINVAL for content asked of a special file: it holds none in the workspace (the kernel serves it in a mount). */
const notRegular = (path: string, type: number) =>
  new FsError("EINVAL", path, `is a ${TYPE_NAMES[type]}, not a regular file; it holds no content in the workspace`);
