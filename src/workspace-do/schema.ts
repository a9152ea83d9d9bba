import type { SqlDriver } from "./sql.ts";

/**
 * 2: chunk reference counts moved from `chunks` into `chunk_refs`. 3: special files (FIFOs,
 * sockets, devices) and `inodes.rdev`. 4: history (`versions`, `revisions`, `checkpoints`). 5: the
 * content index (`content_index`, `content_index_files`, `content_index_unread`). Older databases are migrated on open (see
 * {@link migrate}); some version 1 databases were written by builds that already had the
 * version 2 tables but still said 1.
 */
export const SCHEMA_VERSION = 5;
export const ROOT_INO = 1;

/** Inode types as stored in `inodes.type`. */
export const INODE_TYPE = { file: 1, directory: 2, symlink: 3, fifo: 4, socket: 5, "character-device": 6, "block-device": 7 } as const;
export type FileType = keyof typeof INODE_TYPE;
export const TYPE_NAMES = Object.fromEntries(Object.entries(INODE_TYPE).map(([name, type]) => [type, name])) as Record<number, FileType>;
/** The types that hold no content and no target: made by `mknod`, with a device number (`rdev`) for devices. */
export type SpecialFileType = Exclude<FileType, "file" | "directory" | "symlink">;
export const isSpecialType = (type: number): boolean => type >= INODE_TYPE.fifo;

/**
 * The tables (see docs/01-schema-and-change-log.md for the invariants they keep):
 * - `inodes`: one row per file, directory, symlink or special file; times in milliseconds since
 *   the epoch; `rdev` is a device's number (0 for everything else).
 * - `dirents`: (parent, name) -> child; a directory rename rewrites one row.
 * - `file_chunks`: a file's content as fixed-size chunks in order, by sha-256.
 * - `chunks`: content-addressed bytes, written once; `chunk_refs`: each chunk's size and reference
 *   count (file_chunks rows + staged rows), apart so counting never rewrites the bytes.
 * - `staged_chunks`: chunks held by stream writes still in progress; cleared on open.
 * - `changes`: one row per path ever touched, with the revision that last touched it and, when
 *   a sync peer's push made that change, the peer (`writer`).
 * - `versions`: with history on, each path's state at every revision that touched it (`type` 0:
 *   it did not exist), its chunks as concatenated hashes, each referenced in `chunk_refs`, and
 *   `until`, the revision of the path's next version (null for its newest).
 * - `revisions`: who made each revision and when; `checkpoints`: named revisions.
 * - `content_index` (FTS5, trigram, contentless), `content_index_files` and `content_index_unread`:
 *   the text of files up to 1 MiB by inode, for grep (see content-index.ts, docs/07-search-index.md).
 * - `meta`: settings fixed at creation (`schema_version`, `chunk_size`), sync cursors,
 *   `history_since` (the oldest revision history restores) and `content_index_complete`.
 */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inodes (
  ino INTEGER PRIMARY KEY,
  type INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  uid INTEGER NOT NULL DEFAULT 0,
  gid INTEGER NOT NULL DEFAULT 0,
  size INTEGER NOT NULL DEFAULT 0,
  nlink INTEGER NOT NULL,
  atime INTEGER NOT NULL,
  mtime INTEGER NOT NULL,
  ctime INTEGER NOT NULL,
  btime INTEGER NOT NULL,
  target TEXT,
  rdev INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS dirents (
  parent INTEGER NOT NULL,
  name TEXT NOT NULL,
  ino INTEGER NOT NULL,
  PRIMARY KEY (parent, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dirents_by_ino ON dirents (ino);
CREATE TABLE IF NOT EXISTS file_chunks (
  ino INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (ino, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunks (hash TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS chunk_refs (hash TEXT PRIMARY KEY, size INTEGER NOT NULL, refs INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS staged_chunks (
  upload INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (upload, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (path TEXT PRIMARY KEY, rev INTEGER NOT NULL, writer TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS changes_by_rev ON changes (rev);
CREATE TABLE IF NOT EXISTS versions (
  path TEXT NOT NULL,
  rev INTEGER NOT NULL,
  type INTEGER NOT NULL,
  mode INTEGER NOT NULL DEFAULT 0,
  uid INTEGER NOT NULL DEFAULT 0,
  gid INTEGER NOT NULL DEFAULT 0,
  size INTEGER NOT NULL DEFAULT 0,
  mtime INTEGER NOT NULL DEFAULT 0,
  rdev INTEGER NOT NULL DEFAULT 0,
  target TEXT,
  chunks TEXT,
  until INTEGER,
  PRIMARY KEY (path, rev)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS versions_by_rev ON versions (rev);
CREATE INDEX IF NOT EXISTS versions_by_until ON versions (until) WHERE until IS NOT NULL;
CREATE TABLE IF NOT EXISTS revisions (rev INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT, call TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS revisions_by_call ON revisions (call) WHERE call IS NOT NULL;
CREATE TABLE IF NOT EXISTS checkpoints (
  id INTEGER PRIMARY KEY,
  rev INTEGER NOT NULL,
  at INTEGER NOT NULL,
  label TEXT NOT NULL,
  description TEXT,
  auto INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS checkpoints_by_rev ON checkpoints (rev);
CREATE VIRTUAL TABLE IF NOT EXISTS content_index USING fts5(body, tokenize = 'trigram', content = '', contentless_delete = 1, detail = none);
CREATE TABLE IF NOT EXISTS content_index_files (ino INTEGER PRIMARY KEY, bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS content_index_unread (ino INTEGER PRIMARY KEY, pending INTEGER NOT NULL);
`;

/**
 * Creates the tables on first open, brings an older database up to {@link SCHEMA_VERSION} (in
 * the same transaction: all or nothing), and returns the chunk size the database was created with
 * (it never changes afterwards: chunk hashes depend on it).
 */
export function migrate(sql: SqlDriver, chunkSize: number, now: number): { chunkSize: number } {
  sql.transaction(() => {
    sql.script(SCHEMA_SQL);
    const version = sql.one<{ value: number }>("SELECT value FROM meta WHERE key = 'schema_version'");
    if (version && version.value < SCHEMA_VERSION) {
      if (version.value === 1) moveReferenceCounts(sql);
      addDeviceNumbers(sql);
      // Version 3 → 4 only adds tables (made above); history starts when an engine asks for it.
      // Version 4 → 5 too: the content index is built lazily, by the first searches.
      sql.run("UPDATE meta SET value = ? WHERE key = 'schema_version'", SCHEMA_VERSION);
    } else if (version && version.value !== SCHEMA_VERSION) {
      throw new Error(`Workspace database has schema version ${version.value}; this build reads ${SCHEMA_VERSION}`);
    }
    if (!version) {
      // A new workspace's index is complete: it has no files yet, and every write keeps it.
      sql.run("INSERT INTO meta (key, value) VALUES ('schema_version', ?), ('chunk_size', ?), ('content_index_complete', 1)", SCHEMA_VERSION, chunkSize);
      sql.run(
        "INSERT INTO inodes (ino, type, mode, size, nlink, atime, mtime, ctime, btime) VALUES (?, ?, ?, 0, 2, ?, ?, ?, ?)",
        ROOT_INO,
        INODE_TYPE.directory,
        0o755,
        now,
        now,
        now,
        now,
      );
    }
  });
  return { chunkSize: sql.one<{ value: number }>("SELECT value FROM meta WHERE key = 'chunk_size'")!.value };
}

/** Version 1 → 2: `chunks (hash, size, refs, data)` becomes `chunks (hash, data)` + `chunk_refs`. */
function moveReferenceCounts(sql: SqlDriver): void {
  const columns = sql.all<{ name: string }>("SELECT name FROM pragma_table_info('chunks')").map((column) => column.name);
  if (!columns.includes("refs")) return;
  sql.run("INSERT INTO chunk_refs (hash, size, refs) SELECT hash, size, refs FROM chunks");
  sql.script("ALTER TABLE chunks DROP COLUMN refs; ALTER TABLE chunks DROP COLUMN size;");
}

/** Version 2 → 3: `inodes.rdev` (CREATE TABLE IF NOT EXISTS left the old table without it). */
function addDeviceNumbers(sql: SqlDriver): void {
  const columns = sql.all<{ name: string }>("SELECT name FROM pragma_table_info('inodes')").map((column) => column.name);
  if (!columns.includes("rdev")) sql.run("ALTER TABLE inodes ADD COLUMN rdev INTEGER NOT NULL DEFAULT 0");
}
