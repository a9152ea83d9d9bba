/**
 * Turns a database of this build back into the version-1 layout (reference counts and sizes in
 * the `chunks` rows, no `chunk_refs`, no `inodes.rdev`), for the migration tests on both hosts.
 */
export const DOWNGRADE_TO_V1_SQL = `
  CREATE TABLE chunks_v1 (hash TEXT PRIMARY KEY, size INTEGER NOT NULL, refs INTEGER NOT NULL, data BLOB NOT NULL);
  INSERT INTO chunks_v1 SELECT c.hash, r.size, r.refs, c.data FROM chunks c JOIN chunk_refs r USING (hash);
  DROP TABLE chunks; DROP TABLE chunk_refs;
  ALTER TABLE chunks_v1 RENAME TO chunks;
  ALTER TABLE inodes DROP COLUMN rdev;
  UPDATE meta SET value = 1 WHERE key = 'schema_version';
  DROP TABLE content_index; DROP TABLE content_index_files; DROP TABLE content_index_unread; DELETE FROM meta WHERE key = 'content_index_complete';
`;

/** Turns a database of this build back into version 4, the last without the content index. */
export const DOWNGRADE_TO_V4_SQL = `
  DROP TABLE content_index; DROP TABLE content_index_files; DROP TABLE content_index_unread;
  DELETE FROM meta WHERE key = 'content_index_complete';
  UPDATE meta SET value = 4 WHERE key = 'schema_version';
`;
