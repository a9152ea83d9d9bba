import { looksBinary } from "./lines.ts";
import { compareNames } from "./paths.ts";
import type { LiteralQuery } from "./regex-literals.ts";
import { ROOT_INO } from "./schema.ts";
import type { SqlDriver } from "./sql.ts";

/** Larger files are not indexed: grep reads them (see docs/07-search-index.md). */
export const INDEX_MAX_FILE_BYTES = 1024 * 1024;
/** Trigrams looked up per required string: enough to be selective, few enough to stay cheap. */
const MAX_TRIGRAMS = 12;

/** A file a search has to read: the index could not rule it out. */
export interface Candidate {
  ino: number;
  path: string;
}

/** What the index holds, for `usage()`. */
export interface ContentIndexUsage {
  /** Files whose text is in the index. */
  files: number;
  /** Bytes of text indexed. */
  textBytes: number;
  /** Bytes the index itself takes (its FTS5 blocks and per-file rows). */
  indexBytes: number;
  /** Every file has been looked at; until then, searches also read the files not yet indexed. */
  complete: boolean;
}

/**
 * A trigram index of the text of every file up to {@link INDEX_MAX_FILE_BYTES}, keyed by inode
 * (the owner of content: a rename or a hard link changes no content, so it costs the index
 * nothing), kept in the same transaction as the write that changed the content.
 *
 * Tables: `content_index`, a contentless FTS5 table (`trigram` tokenizer, `detail=none`: it
 * answers which files hold every trigram of a string, never where, so a search confirms each
 * candidate with the real regular expression); `content_index_files`, one row per file looked
 * at: `indexed` 1 when its text is in `content_index`, 0 when the file must be read by every
 * search (binary, over the size limit, a NUL byte, content this replica has not fetched).
 * A file with no row has not been looked at yet: an index built for an existing workspace
 * fills in lazily ({@link build}), and `content_index_complete` in `meta` says when it is done.
 *
 * The engine calls {@link changed} for every inode whose content it changes or frees and
 * {@link flush} before its transaction commits; {@link discard} after a rollback.
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
      this.#sql.one("SELECT 1 AS x FROM meta WHERE key = 'content_index_complete' AND value = 1 UNION SELECT 1 FROM content_index_files LIMIT 1")
    ) {
      this.#sql.transaction(() => {
        this.#sql.run("INSERT INTO content_index (content_index) VALUES ('delete-all')");
        this.#sql.run("DELETE FROM content_index_files");
        this.#setComplete(false);
      });
    }
  }

  /** The content of `ino` changed, or the inode is gone: look at it again before commit. */
  changed(ino: number): void {
    if (this.enabled) this.#dirty.add(ino);
  }

  /** Brings every changed file up to date; runs inside the writing transaction. */
  flush(): void {
    if (this.#dirty.size === 0) return;
    const inos = [...this.#dirty];
    this.#dirty.clear();
    for (const ino of inos) this.#forget(ino);
    this.#index(
      this.#sql.all<{ ino: number; size: number }>(`SELECT ino, size FROM inodes WHERE ino IN (SELECT value FROM json_each(?))`, JSON.stringify(inos)),
    );
  }

  /** The transaction rolled back: what was pending went with it. */
  discard(): void {
    this.#dirty.clear();
  }

  get complete(): boolean {
    return this.#sql.one<{ value: number }>("SELECT value FROM meta WHERE key = 'content_index_complete'")?.value === 1;
  }

  /**
   * Indexes up to `limit` files not looked at yet (in the caller's transaction) and answers how
   * many remain; at 0 the index is complete.
   */
  build(limit: number): number {
    const files = this.#sql.all<{ ino: number; size: number }>(
      "SELECT i.ino, i.size FROM inodes i WHERE i.type = 1 AND NOT EXISTS (SELECT 1 FROM content_index_files f WHERE f.ino = i.ino) ORDER BY i.ino LIMIT ?",
      limit,
    );
    this.#index(files);
    const left = this.#sql.one<{ n: number }>(
      "SELECT count(*) AS n FROM inodes i WHERE i.type = 1 AND NOT EXISTS (SELECT 1 FROM content_index_files f WHERE f.ino = i.ino)",
    )!.n;
    if (left === 0) this.#setComplete(true);
    return left;
  }

  /**
   * The files that may hold a line matching `query` (see `requiredLiterals`), with every path
   * each has, in the order a sorted walk visits them: those the index finds, and those it
   * cannot rule out (not indexed, or not looked at yet).
   */
  candidates(query: LiteralQuery): Candidate[] {
    const unlooked = this.complete
      ? ""
      : "UNION SELECT i.ino FROM inodes i WHERE i.type = 1 AND NOT EXISTS (SELECT 1 FROM content_index_files f WHERE f.ino = i.ino AND f.indexed = 1)";
    const rows = this.#sql.all<{ ino: number; path: string }>(
      `WITH RECURSIVE
         hit(ino) AS (SELECT rowid FROM content_index WHERE content_index MATCH ? UNION SELECT ino FROM content_index_files WHERE indexed = 0 ${unlooked}),
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
    const files = this.#sql.one<{ n: number; bytes: number; rows: number }>(
      "SELECT count(*) AS rows, coalesce(sum(indexed), 0) AS n, coalesce(sum(bytes), 0) AS bytes FROM content_index_files",
    )!;
    const blocks = this.#sql.one<{ bytes: number }>(
      "SELECT (SELECT coalesce(sum(length(block)), 0) FROM content_index_data) + (SELECT coalesce(sum(length(sz)), 0) + 8 * count(*) FROM content_index_docsize) AS bytes",
    )!.bytes;
    // A files row is three small integers: about 12 bytes with its record header.
    return { files: files.n, textBytes: files.bytes, indexBytes: blocks + 12 * files.rows, complete: this.enabled && this.complete };
  }

  /** Removes what the index holds for `ino`. */
  #forget(ino: number): void {
    const row = this.#sql.one<{ indexed: number }>("DELETE FROM content_index_files WHERE ino = ? RETURNING indexed", ino);
    if (row?.indexed === 1) this.#sql.run("DELETE FROM content_index WHERE rowid = ?", ino);
  }

  /** Looks at each file (none of which has a row) and records it as indexed or to be read. */
  #index(files: { ino: number; size: number }[]): void {
    const small = files.filter((file) => file.size <= INDEX_MAX_FILE_BYTES && file.size > 0).map((file) => file.ino);
    const contents = new Map<number, Uint8Array[] | null>();
    // A bounded number of inodes per query (a Durable Object takes at most 100 bound values, and json_each one).
    for (let start = 0; start < small.length; start += 256) {
      for (const [ino, chunks] of this.#read(small.slice(start, start + 256), INDEX_MAX_FILE_BYTES)) contents.set(ino, chunks);
    }
    for (const { ino, size } of files) {
      const text = size === 0 ? "" : size <= INDEX_MAX_FILE_BYTES ? textOf(contents.get(ino) ?? null) : undefined;
      if (text === undefined) {
        this.#sql.run("INSERT INTO content_index_files (ino, indexed, bytes) VALUES (?, 0, 0)", ino);
        continue;
      }
      this.#sql.run("INSERT INTO content_index (rowid, body) VALUES (?, ?)", ino, text);
      this.#sql.run("INSERT INTO content_index_files (ino, indexed, bytes) VALUES (?, 1, ?)", ino, size);
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
