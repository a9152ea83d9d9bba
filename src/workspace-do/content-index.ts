import { looksBinary } from "./lines.ts";
import { compareNames } from "./paths.ts";
import type { LiteralQuery } from "./regex-literals.ts";
import { ROOT_INO } from "./schema.ts";
import type { SqlDriver } from "./sql.ts";

/** Larger files are not indexed: grep reads them (see docs/07-search-index.md). */
export const INDEX_MAX_FILE_BYTES = 1024 * 1024;
/** A file in neither table (as `i`) has not been looked at. */
const NOT_LOOKED_AT =
  "NOT EXISTS (SELECT 1 FROM content_index_files f WHERE f.ino = i.ino) AND NOT EXISTS (SELECT 1 FROM content_index_unread u WHERE u.ino = i.ino)";
/** Trigrams looked up per required string: enough to be selective, few enough to stay cheap. */
const MAX_TRIGRAMS = 12;

/** A file a search has to read: the index could not rule it out. */
export interface Candidate {
  ino: number;
  path: string;
}

/** What the index holds, for `usage()`. */
export interface ContentIndexUsage {
  /** Files whose current text is in the index. */
  files: number;
  /** Bytes of text indexed. */
  textBytes: number;
  /** Files written since the last search, which the next searches index (and read meanwhile). */
  pending: number;
  /** Bytes the index itself takes (its FTS5 blocks and per-file rows). */
  indexBytes: number;
  /** Every file has been looked at; until then, searches also read the files not yet indexed. */
  complete: boolean;
}

/**
 * A trigram index of the text of every file up to {@link INDEX_MAX_FILE_BYTES}, keyed by inode
 * (the owner of content: a rename or a hard link changes no content, so it costs the index
 * nothing). The invariant: a file in `content_index_files` and not in `content_index_unread` has
 * its current text in the index; every other file is read by each search. So a search is never
 * stale.
 *
 * Tables: `content_index`, a contentless FTS5 table (`trigram` tokenizer, `detail=none`: it
 * answers which files hold every trigram of a string, never where, so a search confirms each
 * candidate with the real regular expression); `content_index_files`, the inodes it holds a row
 * for, with the bytes of text; `content_index_unread`, the files every search reads: `pending`
 * 1 when written since they were indexed, 0 when they cannot be indexed (binary, over the size
 * limit, a NUL byte, content this replica has not fetched). A file in neither table has not been
 * looked at yet (a workspace older than its index); `content_index_complete` in `meta` says none
 * is left.
 *
 * A write only marks the inodes whose content it changed or freed pending, in its own
 * transaction ({@link changed}, {@link flush}): one small row, where indexing at once would
 * make FTS5 write a segment per transaction. Searches index what is pending (and what was
 * never looked at) in batches ({@link build}) before asking the index.
 */
export class ContentIndex {
  readonly enabled: boolean;
  readonly #sql: SqlDriver;
  readonly #read: (inos: number[], maxBytes: number) => Map<number, Uint8Array[] | null>;
  readonly #dirty = new Set<number>();

  /**
   * `read` gives the chunks of each of `inos` no larger than `maxBytes` (null when some bytes
   * are not in this database; empty files and larger ones are left out). With `enabled` false
   * the index is emptied, since writes would no longer keep it.
   */
  constructor(sql: SqlDriver, read: (inos: number[], maxBytes: number) => Map<number, Uint8Array[] | null>, enabled: boolean) {
    this.#sql = sql;
    this.#read = read;
    this.enabled = enabled;
    if (
      !enabled &&
      this.#sql.one(
        "SELECT 1 AS x FROM meta WHERE key = 'content_index_complete' AND value = 1 UNION SELECT 1 FROM content_index_files UNION SELECT 1 FROM content_index_unread LIMIT 1",
      )
    ) {
      this.#sql.transaction(() => {
        this.#sql.run("INSERT INTO content_index (content_index) VALUES ('delete-all')");
        this.#sql.run("DELETE FROM content_index_files");
        this.#sql.run("DELETE FROM content_index_unread");
        this.#setComplete(false);
      });
    }
  }

  /** The content of `ino` changed, or the inode is gone. */
  changed(ino: number): void {
    if (this.enabled) this.#dirty.add(ino);
  }

  /** Marks every changed inode pending; runs inside the writing transaction, before it commits. */
  flush(): void {
    if (this.#dirty.size === 0) return;
    this.#sql.run(
      "INSERT INTO content_index_unread (ino, pending) SELECT value, 1 FROM json_each(?) WHERE true ON CONFLICT (ino) DO UPDATE SET pending = 1",
      JSON.stringify([...this.#dirty]),
    );
    this.#dirty.clear();
  }

  /** The transaction rolled back: what was pending went with it. */
  discard(): void {
    this.#dirty.clear();
  }

  get complete(): boolean {
    return this.#sql.one<{ value: number }>("SELECT value FROM meta WHERE key = 'content_index_complete'")?.value === 1;
  }

  /**
   * Indexes up to `limit` files, those written since they were indexed first, then those never
   * looked at (in the caller's transaction), and answers how many of either kind remain.
   */
  build(limit: number): number {
    this.flush();
    const pending = this.#sql.all<{ ino: number }>("SELECT ino FROM content_index_unread WHERE pending = 1 LIMIT ?", limit).map((row) => row.ino);
    const complete = this.complete;
    const unlooked =
      complete || pending.length >= limit
        ? []
        : this.#sql.all<{ ino: number; size: number }>(
            `SELECT i.ino, i.size FROM inodes i WHERE i.type = 1 AND ${NOT_LOOKED_AT} LIMIT ?`,
            limit - pending.length,
          );
    for (const ino of pending) this.#forget(ino);
    const files = [...this.#sizes(pending), ...unlooked];
    this.#index(files);
    const left = this.#sql.one<{ pending: number; unlooked: number }>(
      `SELECT (SELECT count(*) FROM content_index_unread WHERE pending = 1) AS pending, ${
        complete ? "0" : `(SELECT count(*) FROM inodes i WHERE i.type = 1 AND ${NOT_LOOKED_AT})`
      } AS unlooked`,
    )!;
    if (!complete && left.unlooked === 0) this.#setComplete(true);
    return left.pending + left.unlooked;
  }

  /**
   * The files that may hold a line matching `query` (see `requiredLiterals`), with every path
   * each has, in the order a sorted walk visits them: those the index finds, and those it
   * cannot rule out (read, pending, or not looked at yet).
   */
  candidates(query: LiteralQuery): Candidate[] {
    const unlooked = this.complete ? "" : `UNION SELECT i.ino FROM inodes i WHERE i.type = 1 AND ${NOT_LOOKED_AT}`;
    const rows = this.#sql.all<{ ino: number; path: string }>(
      `WITH RECURSIVE
         hit(ino) AS (SELECT rowid FROM content_index WHERE content_index MATCH ? UNION SELECT ino FROM content_index_unread ${unlooked}),
         up(leaf, parent, path) AS (
           SELECT d.ino, d.parent, d.name FROM dirents d JOIN hit h ON d.ino = h.ino
           UNION ALL
           SELECT up.leaf, d.parent, d.name || '/' || up.path FROM up JOIN dirents d ON d.ino = up.parent WHERE up.parent != ${ROOT_INO})
       SELECT leaf AS ino, '/' || path AS path FROM up WHERE parent = ${ROOT_INO}`,
      toMatchQuery(query),
    );
    // Walk order: name by name; "/" sorts below every character a name can hold, so the key is "\0".
    const keyed = rows.map((row) => ({ ...row, key: row.path.replaceAll("/", "\0") }));
    keyed.sort((a, b) => compareNames(a.key, b.key));
    return keyed.map(({ ino, path }) => ({ ino, path }));
  }

  usage(): ContentIndexUsage {
    const files = this.#sql.one<{ indexed: number; pending: number; bytes: number; rows: number }>(
      `SELECT count(*) AS indexed, coalesce(sum(bytes), 0) AS bytes,
         (SELECT count(*) FROM content_index_unread WHERE pending = 1) AS pending,
         (SELECT count(*) FROM content_index_files) + (SELECT count(*) FROM content_index_unread) AS rows
       FROM content_index_files f WHERE NOT EXISTS (SELECT 1 FROM content_index_unread u WHERE u.ino = f.ino)`,
    )!;
    const blocks = this.#sql.one<{ bytes: number }>(
      "SELECT (SELECT coalesce(sum(length(block)), 0) FROM content_index_data) + (SELECT coalesce(sum(length(sz)), 0) + 8 * count(*) FROM content_index_docsize) AS bytes",
    )!.bytes;
    // A row of either table is two small integers: about 10 bytes with its record header.
    return {
      files: files.indexed,
      textBytes: files.bytes,
      pending: files.pending,
      indexBytes: blocks + 10 * files.rows,
      complete: this.enabled && this.complete,
    };
  }

  /** Removes what the index holds for `ino`. */
  #forget(ino: number): void {
    this.#sql.run("DELETE FROM content_index_unread WHERE ino = ?", ino);
    if (this.#sql.one("DELETE FROM content_index_files WHERE ino = ? RETURNING 1 AS x", ino)) this.#sql.run("DELETE FROM content_index WHERE rowid = ?", ino);
  }

  /** The files among `inos` that still exist, with their sizes. */
  #sizes(inos: number[]): { ino: number; size: number }[] {
    if (inos.length === 0) return [];
    return this.#sql.all<{ ino: number; size: number }>("SELECT ino, size FROM inodes WHERE ino IN (SELECT value FROM json_each(?))", JSON.stringify(inos));
  }

  /** Looks at each file (none of which has a row) and records it as indexed or to be read. */
  #index(files: { ino: number; size: number }[]): void {
    const small = files.filter((file) => file.size <= INDEX_MAX_FILE_BYTES && file.size > 0).map((file) => file.ino);
    const contents = new Map<number, Uint8Array[] | null>();
    // A bounded number of inodes per query, so one query never holds too many files' bytes.
    for (let start = 0; start < small.length; start += 256) {
      for (const [ino, chunks] of this.#read(small.slice(start, start + 256), INDEX_MAX_FILE_BYTES)) contents.set(ino, chunks);
    }
    for (const { ino, size } of files) {
      const text = size === 0 ? "" : size <= INDEX_MAX_FILE_BYTES ? textOf(contents.get(ino) ?? null) : undefined;
      if (text === undefined) {
        this.#sql.run("INSERT INTO content_index_unread (ino, pending) VALUES (?, 0)", ino);
        continue;
      }
      this.#sql.run("INSERT INTO content_index (rowid, body) VALUES (?, ?)", ino, text);
      this.#sql.run("INSERT INTO content_index_files (ino, bytes) VALUES (?, ?)", ino, size);
    }
  }

  #setComplete(complete: boolean): void {
    this.#sql.run(
      "INSERT INTO meta (key, value) VALUES ('content_index_complete', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      complete ? 1 : 0,
    );
  }
}

/**
 * The text grep would search, or undefined for a file it must read itself: binary by grep's own
 * test (a NUL in the first chunk's first 8,000 bytes), a NUL further on, or bytes not here.
 */
function textOf(chunks: Uint8Array[] | null): string | undefined {
  if (!chunks || chunks.length === 0 || looksBinary(chunks[0]!)) return undefined;
  const decoder = new TextDecoder();
  let text = "";
  for (const chunk of chunks) text += decoder.decode(chunk, { stream: true });
  text += decoder.decode();
  return text.includes("\0") ? undefined : text;
}

/**
 * An FTS5 query for `query`: clauses joined by AND, their strings by OR, each string as the
 * AND of some of its trigrams (`detail=none` answers no phrase queries; a file holding the
 * string holds each of them). Trigrams are taken every third code point, and the last.
 */
export function toMatchQuery(query: LiteralQuery): string {
  const quote = (text: string) => `"${text.replaceAll('"', '""')}"`;
  const ofString = (text: string) => {
    const points = [...text];
    const starts = new Set<number>();
    for (let at = 0; at + 3 <= points.length; at += 3) starts.add(at);
    starts.add(points.length - 3);
    const trigrams = [...new Set([...starts].map((at) => points.slice(at, at + 3).join("")))].slice(0, MAX_TRIGRAMS);
    return `(${trigrams.map(quote).join(" AND ")})`;
  };
  return query.map((clause) => `(${clause.map(ofString).join(" OR ")})`).join(" AND ");
}
