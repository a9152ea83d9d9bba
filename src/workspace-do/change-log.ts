import type { FileContent } from "./content.ts";
import { isFsError } from "./errors.ts";
import { type Inodes, toStats } from "./inodes.ts";
import { normalizePath } from "./paths.ts";
import type { Located, PathResolver } from "./resolver.ts";
import { pageByRevision } from "./revision-page.ts";
import { INODE_TYPE } from "./schema.ts";
import type { SqlDriver } from "./sql.ts";
import type { ChangeEntry, ChangePage } from "./types.ts";

/**
 * The change log: one row per path in `changes` with the revision that last touched it (and
 * the sync peer whose push made that change), read back as the paths' current state. The
 * revision is not stored apart: it is the newest `rev` in the log, so a mutation writes no
 * counter row. Sync cursors live beside it, in `meta`. The invariants it keeps are in
 * docs/01-schema-and-change-log.md (4 to 6).
 */
export class ChangeLog {
  readonly #sql: SqlDriver;
  readonly #resolver: PathResolver;
  readonly #inodes: Inodes;
  readonly #content: FileContent;
  #rev: number;

  constructor(sql: SqlDriver, resolver: PathResolver, inodes: Inodes, content: FileContent) {
    this.#sql = sql;
    this.#resolver = resolver;
    this.#inodes = inodes;
    this.#content = content;
    this.#rev = this.#newest();
  }

  /** The revision of the latest stamp (0 for a new workspace). */
  get rev(): number {
    return this.#rev;
  }

  /** Stamps each of `paths` with the next revision, and `writer` (a sync peer, or null) beside it. */
  stamp(paths: Iterable<string>, writer: string | null): void {
    const rev = this.#rev + 1;
    for (const path of paths) {
      this.#sql.run(
        "INSERT INTO changes (path, rev, writer) VALUES (?, ?, ?) ON CONFLICT (path) DO UPDATE SET rev = excluded.rev, writer = excluded.writer",
        path,
        rev,
        writer,
      );
    }
    this.#rev = rev;
  }

  /** Reads the revision back from the log, after a rollback undid stamps. */
  reload(): void {
    this.#rev = this.#newest();
  }

  /**
   * What changed after revision `since`: one entry per path, in its latest state (or a
   * tombstone), ordered by revision. A page holds at least `limit` entries unless the log
   * ends, and never splits one revision, so the returned `rev` is a safe cursor.
   */
  changesSince(since: number, options: { limit?: number } = {}): ChangePage {
    const limit = Math.max(1, options.limit ?? 1000);
    type Row = { path: string; rev: number; writer: string | null };
    const { rows, more } = pageByRevision(
      this.#sql.all<Row>("SELECT path, rev, writer FROM changes WHERE rev > ? ORDER BY rev, path LIMIT ?", since, limit + 1),
      limit,
      (rev) => this.#sql.all<Row>("SELECT path, rev, writer FROM changes WHERE rev = ? ORDER BY path", rev),
      (rev) => this.#sql.one("SELECT 1 AS x FROM changes WHERE rev > ? LIMIT 1", rev) !== undefined,
    );
    return {
      entries: rows.map(({ path, rev, writer }) => {
        const entry = this.entryAt(path, rev);
        if (writer !== null) entry.writer = writer;
        return entry;
      }),
      rev: rows.length ? rows[rows.length - 1]!.rev : since,
      more,
    };
  }

  /**
   * The entry `changesSince` would give `path` now: its state (or a tombstone), stamped with
   * its last change. For a peer that held a path back from a push and sends it later.
   */
  changeOf(path: string): ChangeEntry {
    const at = normalizePath(path);
    const { rev, writer } = this.lastChange(at);
    const entry = this.entryAt(at, rev);
    if (writer !== null) entry.writer = writer;
    return entry;
  }

  /** The last change to `path`: its revision (0 if none) and the sync peer that pushed it, if one did. */
  lastChange(path: string): { rev: number; writer: string | null } {
    return (
      this.#sql.one<{ rev: number; writer: string | null }>("SELECT rev, writer FROM changes WHERE path = ?", normalizePath(path)) ?? { rev: 0, writer: null }
    );
  }

  /** A sync cursor kept in the workspace's own database (0 until set), so a restart resumes. */
  cursor(name: string): number {
    return this.#sql.one<{ value: number }>("SELECT value FROM meta WHERE key = ?", `cursor:${name}`)?.value ?? 0;
  }

  /** The cursors whose names start with `prefix`, by name. */
  cursors(prefix: string): { name: string; value: number }[] {
    const from = `cursor:${prefix}`;
    return this.#sql
      .all<{ key: string; value: number }>("SELECT key, value FROM meta WHERE key >= ? AND key < ? ORDER BY key", from, `${from}\u{10ffff}`)
      .map(({ key, value }) => ({ name: key.slice("cursor:".length), value }));
  }

  deleteCursor(name: string): void {
    this.#sql.run("DELETE FROM meta WHERE key = ?", `cursor:${name}`);
  }

  setCursor(name: string, value: number): void {
    this.#sql.run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", `cursor:${name}`, value);
  }

  /** `path` as it is now, stamped `rev`. */
  entryAt(path: string, rev: number): ChangeEntry {
    let located: Located;
    try {
      located = this.#resolver.locate(path, false);
    } catch (error) {
      if (isFsError(error)) return { path, rev, deleted: true };
      throw error;
    }
    // A path counts as present only where it is itself, not through a symlinked parent.
    if (!located.entry || located.path !== path) return { path, rev, deleted: true };
    const node = this.#inodes.get(located.entry.ino);
    const entry: ChangeEntry = { path, rev, deleted: false, stats: toStats(node) };
    if (node.type === INODE_TYPE.file) entry.chunks = this.#content.hashes(node.ino);
    if (node.type === INODE_TYPE.symlink) entry.target = node.target!;
    return entry;
  }

  /** The newest revision in the log (indexed: no scan). */
  #newest(): number {
    return this.#sql.one<{ rev: number }>("SELECT coalesce(max(rev), 0) AS rev FROM changes")!.rev;
  }
}
