/** What the cache knows of one entry: type and symlink target never change for an inode. */
export interface CachedEntry {
  ino: number;
  type: number;
  target: string | null;
}

/** The answer for a name known not to exist. */
export const ABSENT = "absent";

/**
 * The engine's memory of directory entries, `(parent, name) -> entry`, so resolving a path costs
 * no queries when warm. A directory whose whole listing was read is marked complete: a name
 * missing from it is known absent without asking SQLite (a walk's `.gitignore` probes, a
 * create's "is the name free"). The engine keeps it exact: every dirent it adds or removes goes
 * through `set` and `delete`, and a rollback clears it.
 */
export class DirectoryCache {
  readonly #entries = new Map<string, CachedEntry>();
  readonly #complete = new Set<number>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The entry, {@link ABSENT} when the directory is complete and lacks it, or undefined (unknown). */
  get(parent: number, name: string): CachedEntry | typeof ABSENT | undefined {
    return this.#entries.get(key(parent, name)) ?? (this.#complete.has(parent) ? ABSENT : undefined);
  }

  set(parent: number, name: string, entry: CachedEntry): CachedEntry {
    if (this.#entries.size >= this.#limit) this.clear();
    this.#entries.set(key(parent, name), entry);
    return entry;
  }

  delete(parent: number, name: string): void {
    this.#entries.delete(key(parent, name));
  }

  /** Records a directory's full listing. */
  setListing(parent: number, entries: { name: string; ino: number; type: number; target: string | null }[]): void {
    if (this.#entries.size + entries.length >= this.#limit) this.clear();
    for (const { name, ino, type, target } of entries) this.#entries.set(key(parent, name), { ino, type, target });
    this.#complete.add(parent);
  }

  /** A directory inode is gone (its number may be reused). */
  forgetDirectory(ino: number): void {
    this.#complete.delete(ino);
  }

  clear(): void {
    this.#entries.clear();
    this.#complete.clear();
  }
}

const key = (parent: number, name: string) => `${parent}/${name}`;
