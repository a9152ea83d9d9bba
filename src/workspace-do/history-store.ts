import { AsyncLocalStorage } from "node:async_hooks";
import type { ChunkStore } from "./chunks.ts";
import { FsError } from "./errors.ts";
import { isWithin } from "./paths.ts";
import { pageByRevision } from "./revision-page.ts";
import { INODE_TYPE, TYPE_NAMES } from "./schema.ts";
import type { SqlDriver } from "./sql.ts";
import type { ChangeEntry, FileType } from "./types.ts";

/** How long history is kept. */
export interface HistoryOptions {
  /** Every revision younger than this stays restorable. Default 24 hours. */
  keepMs?: number;
  /** Checkpoints kept past `keepMs`, newest first, counted apart for named and automatic ones. Default 200. */
  keepCheckpoints?: number;
}

export const HISTORY_DEFAULTS: Required<HistoryOptions> = { keepMs: 24 * 60 * 60 * 1000, keepCheckpoints: 200 };

/** Who made a revision. */
export interface Source {
  /** An MCP tool call, the files route, a wsd's push, a command run by `exec`, a restore or undo, a direct engine call. */
  kind: "mcp" | "files" | "wsd" | "exec" | "restore" | "undo" | "api" | "baseline";
  /** The tool's name (mcp), the wsd's name (wsd, exec). */
  name?: string;
  /** One call: an MCP call's id or an exec's id; `undo` reverts by it. */
  call?: string;
  /** The command (exec, at most 200 characters) or what a restore went back to. */
  detail?: string;
}

/** A named point: a revision with a label, which retention keeps restorable. */
export interface Checkpoint {
  id: number;
  rev: number;
  /** ms since the epoch. */
  at: number;
  label: string;
  description?: string;
  /** Made by the server (before an exec or a destructive tool call, at a conflict), not asked for. */
  auto: boolean;
}

/** A path's state at some revision: what a version row keeps. */
export type PathState = {
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  rdev: number;
  target?: string;
  chunks?: string[];
};

/** How a path's state differs between two points. */
export type ChangeKind = "added" | "deleted" | "changed" | "metadata";

/** One version in the history listing. */
export interface HistoryEntry {
  rev: number;
  at?: number;
  path: string;
  change: ChangeKind;
  /** The state after the change (absent for a deletion). */
  state?: PathState;
  source?: Source;
}

/** A revision the history can name: a number, a checkpoint, or now. */
export type Point = number | "now" | { checkpoint: number | string };

/** The SQL for a version row (`type` 0: the path did not exist). */
type VersionRow = {
  path: string;
  rev: number;
  type: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  rdev: number;
  target: string | null;
  chunks: string | null;
};
type RevisionRow = { rev: number; at: number; kind: string; name: string | null; call: string | null; detail: string | null };

const HASH_LENGTH = 64;
/** Retention runs after this many revisions (and at every checkpoint). */
const PRUNE_EVERY = 64;
/** Versions dropped per pruning pass: one mutation never pays for a whole backlog. */
const PRUNE_BATCH = 2000;
const MAX_DETAIL = 200;

/**
 * The workspace's history: every state each path had, as version rows over the same
 * content-addressed chunks (a version costs a row and a reference per chunk, never bytes),
 * the source of every revision, checkpoints, and retention. The operations over it are `history.ts`; the design is docs/05-history.md.
 *
 * Every path a mutation touches gets a version row with its new state (or `type` 0 when it is
 * gone) at the mutation's revision, in the mutation's transaction; so the state of a path at
 * revision X is its newest version at or before X, and no version at all means it did not
 * exist. History is complete from `history_since` (in `meta`) on, and at every checkpoint kept.
 */
export class HistoryStore {
  readonly #sql: SqlDriver;
  readonly #chunks: ChunkStore;
  readonly #now: () => number;
  readonly #options: Required<HistoryOptions>;
  readonly #sources = new AsyncLocalStorage<Source>();

  constructor(sql: SqlDriver, chunks: ChunkStore, now: () => number, options: HistoryOptions) {
    this.#sql = sql;
    this.#chunks = chunks;
    this.#now = now;
    this.#options = { ...HISTORY_DEFAULTS, ...options };
  }

  /** Runs `fn` with every revision it makes stamped with `source` (also across awaits). */
  withSource<T>(source: Source, fn: () => T): T {
    return this.#sources.run(clean(source), fn);
  }

  get source(): Source | undefined {
    return this.#sources.getStore();
  }

  /** The oldest revision from which every state is kept. */
  get since(): number {
    return this.#sql.one<{ value: number }>("SELECT value FROM meta WHERE key = 'history_since'")?.value ?? 0;
  }

  /**
   * Starts history on a database that has none, or whose history has a gap (it was opened
   * without history since): every path's state now becomes its first version, at `rev`.
   */
  begin(rev: number, states: () => Iterable<ChangeEntry>): void {
    const recorded = this.#sql.one<{ rev: number | null }>("SELECT max(rev) AS rev FROM versions")!.rev;
    const started = this.#sql.one("SELECT 1 AS x FROM meta WHERE key = 'history_since'") !== undefined;
    if (started && (recorded ?? 0) >= rev) return;
    this.#sql.transaction(() => {
      for (const row of this.#sql.all<{ chunks: string | null }>("DELETE FROM versions RETURNING chunks")) this.#unrefAll(row.chunks);
      this.#sql.run("DELETE FROM revisions");
      this.#sql.run("DELETE FROM checkpoints");
      if (rev > 0) {
        this.#sql.run("INSERT INTO revisions (rev, at, kind) VALUES (?, ?, 'baseline')", rev, this.#now());
        for (const entry of states()) this.#insert({ ...entry, rev });
      }
      this.#sql.run("INSERT INTO meta (key, value) VALUES ('history_since', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", rev);
    });
  }

  /** Records the state of each touched path at `rev` (in the mutation's transaction). */
  record(rev: number, entries: Iterable<ChangeEntry>): void {
    const source = this.source ?? { kind: "api" };
    this.#sql.run(
      "INSERT INTO revisions (rev, at, kind, name, call, detail) VALUES (?, ?, ?, ?, ?, ?)",
      rev,
      this.#now(),
      source.kind,
      source.name ?? null,
      source.call ?? null,
      source.detail ?? null,
    );
    for (const entry of entries) this.#insert(entry);
    if (rev % PRUNE_EVERY === 0) this.prune(rev);
  }

  // ---- checkpoints ----------------------------------------------------------------------------

  checkpoint(rev: number, label: string, options: { description?: string; auto?: boolean } = {}): Checkpoint {
    if (typeof label !== "string" || label.trim() === "" || label.length > MAX_DETAIL) {
      throw new FsError("EINVAL", "(checkpoint)", `needs a label of 1 to ${MAX_DETAIL} characters`);
    }
    const at = this.#now();
    const auto = options.auto ?? false;
    const description = options.description?.slice(0, 2000);
    const { id } = this.#sql.one<{ id: number }>(
      "INSERT INTO checkpoints (rev, at, label, description, auto) VALUES (?, ?, ?, ?, ?) RETURNING id",
      rev,
      at,
      label.trim(),
      description ?? null,
      auto ? 1 : 0,
    )!;
    this.prune(rev);
    return { id, rev, at, label: label.trim(), ...(description ? { description } : {}), auto };
  }

  /** Checkpoints, newest first. */
  checkpoints(options: { limit?: number; auto?: boolean } = {}): Checkpoint[] {
    const rows = this.#sql.all<{ id: number; rev: number; at: number; label: string; description: string | null; auto: number }>(
      `SELECT * FROM checkpoints ${options.auto === undefined ? "" : `WHERE auto = ${options.auto ? 1 : 0}`} ORDER BY id DESC LIMIT ?`,
      Math.max(1, options.limit ?? 100),
    );
    return rows.map((row) => ({
      id: row.id,
      rev: row.rev,
      at: row.at,
      label: row.label,
      ...(row.description ? { description: row.description } : {}),
      auto: row.auto === 1,
    }));
  }

  /** The revision a point names; fails with a clear error for one history cannot restore. */
  resolve(point: Point, now: number): number {
    if (point === "now") return now;
    if (typeof point === "number") {
      if (!Number.isSafeInteger(point) || point < 0 || point > now) {
        throw new FsError("EINVAL", `(revision ${point})`, `is not a revision of this workspace; it is at revision ${now}`);
      }
      if (point < this.since && !this.#sql.one("SELECT 1 AS x FROM checkpoints WHERE rev = ?", point)) {
        throw new FsError(
          "ENOENT",
          `(revision ${point})`,
          `is older than the history kept, which starts at revision ${this.since}; name a checkpoint or a later revision`,
        );
      }
      return point;
    }
    const { checkpoint } = point;
    const row =
      typeof checkpoint === "number"
        ? this.#sql.one<{ rev: number }>("SELECT rev FROM checkpoints WHERE id = ?", checkpoint)
        : this.#sql.one<{ rev: number }>("SELECT rev FROM checkpoints WHERE label = ? ORDER BY id DESC LIMIT 1", checkpoint);
    if (!row) throw new FsError("ENOENT", `(checkpoint ${checkpoint})`, "does not exist (it may have expired); list them with the history tool");
    return row.rev;
  }

  // ---- reading ----------------------------------------------------------------------------------

  /** `path`'s state at revision `rev` (undefined: it did not exist). */
  stateAt(path: string, rev: number): PathState | undefined {
    const row = this.#sql.one<VersionRow>("SELECT * FROM versions WHERE path = ? AND rev <= ? ORDER BY rev DESC LIMIT 1", path, rev);
    return row && row.type !== 0 ? toState(row) : undefined;
  }

  /** The paths at or below `under` with a version after `after` and at or before `upTo`, sorted. */
  changedPaths(after: number, upTo: number, under = "/"): string[] {
    const [low, high] = prefixRange(under);
    return this.#sql
      .all<{ path: string }>(
        "SELECT DISTINCT path FROM versions WHERE rev > ? AND rev <= ? AND (path = ? OR (path > ? AND path < ?)) ORDER BY path",
        after,
        upTo,
        under,
        low,
        high,
      )
      .map((row) => row.path)
      .filter((path) => isWithin(path, under));
  }

  /** Versions at or below `under`, newest first, before revision `before` (a cursor). */
  list(options: { under?: string; limit?: number; before?: number } = {}): HistoryEntry[] {
    const under = options.under ?? "/";
    const [low, high] = prefixRange(under);
    const limit = Math.min(Math.max(1, options.limit ?? 50), 1000);
    const rows = this.#sql.all<VersionRow & Partial<RevisionRow>>(
      `SELECT v.*, r.at, r.kind, r.name, r.call, r.detail FROM versions v LEFT JOIN revisions r ON r.rev = v.rev
       WHERE v.rev < ? AND (v.path = ? OR (v.path > ? AND v.path < ?)) AND (r.kind IS NULL OR r.kind != 'baseline')
       ORDER BY v.rev DESC, v.path LIMIT ?`,
      options.before ?? Number.MAX_SAFE_INTEGER,
      under,
      low,
      high,
      limit,
    );
    return rows.map((row) => this.#entryOf(row));
  }

  /**
   * Versions after revision `since`, oldest first, as whole revisions: at least `limit` unless
   * the history ends (a revision larger than `limit` comes whole). The change feed's page.
   */
  feed(since: number, limit: number): { entries: HistoryEntry[]; rev: number; more: boolean } {
    type Row = VersionRow & Partial<RevisionRow>;
    const select = `SELECT v.*, r.at, r.kind, r.name, r.call, r.detail FROM versions v LEFT JOIN revisions r ON r.rev = v.rev`;
    const visible = "(r.kind IS NULL OR r.kind != 'baseline')";
    const { rows, more } = pageByRevision(
      this.#sql.all<Row>(`${select} WHERE v.rev > ? AND ${visible} ORDER BY v.rev, v.path LIMIT ?`, since, limit + 1),
      limit,
      (rev) => this.#sql.all<Row>(`${select} WHERE v.rev = ? ORDER BY v.path`, rev),
      (rev) => this.#sql.one("SELECT 1 AS x FROM versions WHERE rev > ? LIMIT 1", rev) !== undefined,
    );
    return { entries: rows.map((row) => this.#entryOf(row)), rev: rows.length ? rows[rows.length - 1]!.rev : since, more };
  }

  #entryOf(row: VersionRow & Partial<RevisionRow>): HistoryEntry {
    const before = this.stateAt(row.path, row.rev - 1);
    const after = row.type === 0 ? undefined : toState(row);
    return {
      rev: row.rev,
      ...(row.at == null ? {} : { at: row.at }),
      path: row.path,
      change: changeKind(before, after) ?? "metadata",
      ...(after ? { state: after } : {}),
      ...(row.kind ? { source: toSource(row as RevisionRow) } : {}),
    };
  }

  /** The source of revision `rev`, if history knows it. */
  sourceOf(rev: number): Source | undefined {
    const row = this.#sql.one<RevisionRow>("SELECT * FROM revisions WHERE rev = ?", rev);
    return row ? toSource(row) : undefined;
  }

  /** The revisions one call made (an exec's id or an MCP call's id), oldest first. */
  revisionsOfCall(call: string): number[] {
    return this.#sql.all<{ rev: number }>("SELECT rev FROM revisions WHERE call = ? ORDER BY rev", call).map((row) => row.rev);
  }

  /** The last `count` MCP tool calls that changed something, newest first. */
  lastCalls(count: number): { call: string; tool: string }[] {
    return this.#sql.all<{ call: string; tool: string }>(
      "SELECT call, name AS tool FROM revisions WHERE kind = 'mcp' AND call IS NOT NULL GROUP BY call ORDER BY max(rev) DESC LIMIT ?",
      count,
    );
  }

  /**
   * The paths revision `rev` touched, each with whether it existed before and after: one query
   * (it runs after every commit that an MCP client may be listening to).
   */
  touched(rev: number): { path: string; existed: boolean; exists: boolean }[] {
    return this.#sql
      .all<{ path: string; after: number; before: number | null }>(
        `SELECT v.path, v.type AS after,
           (SELECT p.type FROM versions p WHERE p.path = v.path AND p.rev < v.rev ORDER BY p.rev DESC LIMIT 1) AS before
         FROM versions v WHERE v.rev = ? ORDER BY v.path`,
        rev,
      )
      .map(({ path, after, before }) => ({ path, existed: before !== null && before !== 0, exists: after !== 0 }));
  }

  /** The paths revision `rev` touched. */
  pathsOf(rev: number): string[] {
    return this.#sql.all<{ path: string }>("SELECT path FROM versions WHERE rev = ? ORDER BY path", rev).map((row) => row.path);
  }

  /** Revisions after `after` that touched `path`, oldest first. */
  revisionsOf(path: string, after: number): number[] {
    return this.#sql.all<{ rev: number }>("SELECT rev FROM versions WHERE path = ? AND rev > ? ORDER BY rev", path, after).map((row) => row.rev);
  }

  /** Bytes of the chunks live files reference, each once (the rest of the stored bytes is history's). */
  liveBytes(): number {
    return this.#sql.one<{ bytes: number }>(
      "SELECT coalesce(sum(r.size), 0) AS bytes FROM chunk_refs r WHERE r.refs > 0 AND EXISTS (SELECT 1 FROM file_chunks f WHERE f.hash = r.hash)",
    )!.bytes;
  }

  counts(): { versions: number; checkpoints: number } {
    return {
      versions: this.#sql.one<{ n: number }>("SELECT count(*) AS n FROM versions")!.n,
      checkpoints: this.#sql.one<{ n: number }>("SELECT count(*) AS n FROM checkpoints")!.n,
    };
  }

  // ---- retention ----------------------------------------------------------------------------------

  /**
   * Drops what retention no longer keeps (at most one batch): versions superseded before the
   * horizon (the state before the oldest revision younger than `keepMs`) that no kept checkpoint needs, expired
   * checkpoints, and their chunks when nothing else references them.
   */
  prune(rev: number): void {
    const { keepMs, keepCheckpoints } = this.#options;
    const cutoff = this.#now() - keepMs;
    for (const auto of [0, 1]) {
      this.#sql.run(
        "DELETE FROM checkpoints WHERE auto = ? AND at < ? AND id NOT IN (SELECT id FROM checkpoints WHERE auto = ? ORDER BY id DESC LIMIT ?)",
        auto,
        cutoff,
        auto,
        keepCheckpoints,
      );
    }
    // The state just before the oldest young revision stays too: that revision can be undone.
    const young = this.#sql.one<{ rev: number }>("SELECT rev FROM revisions WHERE at >= ? ORDER BY rev LIMIT 1", cutoff)?.rev;
    this.#advance(Math.max(this.since, young === undefined ? rev : young - 1), PRUNE_BATCH);
  }

  /**
   * Frees history, oldest first, while `over()` says the workspace is past its quota: history
   * never makes a write fail. Checkpoints older than what is kept go with it.
   */
  trim(over: () => boolean): void {
    while (over()) {
      const next = this.#sql.one<{ rev: number | null }>("SELECT min(until) AS rev FROM versions WHERE until > ?", this.since)!.rev;
      if (next === null) return;
      this.#sql.run("DELETE FROM checkpoints WHERE rev < ?", next);
      this.#advance(next, Number.MAX_SAFE_INTEGER);
    }
  }

  /** Moves `history_since` to `horizon` and drops up to `limit` versions no longer needed. */
  #advance(horizon: number, limit: number): void {
    this.#sql.run("UPDATE meta SET value = ? WHERE key = 'history_since' AND value < ?", horizon, horizon);
    // A version is needed while it is the newest at or before the horizon, or a kept checkpoint lies in its lifetime.
    const dropped = this.#sql.all<{ chunks: string | null }>(
      `DELETE FROM versions WHERE (path, rev) IN (
         SELECT v.path, v.rev FROM versions v
         WHERE v.until <= ?1 AND NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.rev >= v.rev AND c.rev < v.until)
         LIMIT ?2)
       RETURNING chunks`,
      horizon,
      limit,
    );
    for (const row of dropped) this.#unrefAll(row.chunks);
    if (dropped.length > 0) {
      this.#sql.run(
        "DELETE FROM revisions WHERE rev < ? AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.rev = revisions.rev) AND NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.rev = revisions.rev)",
        horizon,
      );
    }
  }

  #insert(entry: ChangeEntry): void {
    this.#sql.run("UPDATE versions SET until = ? WHERE path = ? AND until IS NULL", entry.rev, entry.path);
    if (entry.deleted) {
      this.#sql.run("INSERT INTO versions (path, rev, type) VALUES (?, ?, 0)", entry.path, entry.rev);
      return;
    }
    const { stats } = entry;
    const chunks = entry.chunks && entry.chunks.length > 0 ? entry.chunks.join("") : null;
    for (const hash of entry.chunks ?? []) this.#chunks.ref(hash);
    this.#sql.run(
      "INSERT INTO versions (path, rev, type, mode, uid, gid, size, mtime, rdev, target, chunks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      entry.path,
      entry.rev,
      INODE_TYPE[stats.type],
      stats.mode,
      stats.uid,
      stats.gid,
      stats.size,
      stats.mtimeMs,
      stats.rdev,
      entry.target ?? null,
      chunks,
    );
  }

  #unrefAll(chunks: string | null): void {
    for (const hash of splitHashes(chunks)) this.#chunks.unref(hash);
  }
}

/** The change between two states of one path, or undefined when they are the same. */
export function changeKind(before: PathState | undefined, after: PathState | undefined): ChangeKind | undefined {
  if (!before && !after) return undefined;
  if (!before) return "added";
  if (!after) return "deleted";
  if (before.type !== after.type || before.size !== after.size || before.target !== after.target || before.rdev !== after.rdev) return "changed";
  if ((before.chunks ?? []).join() !== (after.chunks ?? []).join()) return "changed";
  if (before.mode !== after.mode || before.uid !== after.uid || before.gid !== after.gid) return "metadata";
  return undefined;
}

/** A state as a change-log entry, which `applyEntry` makes a path hold. */
export function entryOf(path: string, state: PathState | undefined): ChangeEntry {
  if (!state) return { path, rev: 0, deleted: true };
  const time = state.mtimeMs;
  return {
    path,
    rev: 0,
    deleted: false,
    stats: {
      ino: 0,
      type: state.type,
      mode: state.mode,
      uid: state.uid,
      gid: state.gid,
      size: state.size,
      nlink: 1,
      rdev: state.rdev,
      atimeMs: time,
      mtimeMs: time,
      ctimeMs: time,
      birthtimeMs: time,
    },
    ...(state.chunks ? { chunks: state.chunks } : {}),
    ...(state.target !== undefined ? { target: state.target } : {}),
  };
}

function toState(row: VersionRow): PathState {
  const type = TYPE_NAMES[row.type]!;
  return {
    type,
    mode: row.mode,
    uid: row.uid,
    gid: row.gid,
    size: row.size,
    mtimeMs: row.mtime,
    rdev: row.rdev,
    ...(row.target !== null ? { target: row.target } : {}),
    ...(type === "file" ? { chunks: splitHashes(row.chunks) } : {}),
  };
}

function toSource(row: RevisionRow): Source {
  return {
    kind: row.kind as Source["kind"],
    ...(row.name ? { name: row.name } : {}),
    ...(row.call ? { call: row.call } : {}),
    ...(row.detail ? { detail: row.detail } : {}),
  };
}

function clean(source: Source): Source {
  const text = (value: string | undefined) => (typeof value === "string" && value.length > 0 ? value.slice(0, MAX_DETAIL) : undefined);
  const name = text(source.name);
  const call = text(source.call);
  const detail = text(source.detail);
  return { kind: source.kind, ...(name ? { name } : {}), ...(call ? { call } : {}), ...(detail ? { detail } : {}) };
}

const splitHashes = (chunks: string | null): string[] => {
  const out: string[] = [];
  for (let at = 0; chunks && at < chunks.length; at += HASH_LENGTH) out.push(chunks.slice(at, at + HASH_LENGTH));
  return out;
};

/** Bounds of the paths strictly below `dir` in SQLite's byte order ("/" sorts just before "0"). */
const prefixRange = (dir: string): [string, string] => (dir === "/" ? ["/", "0"] : [`${dir}/`, `${dir}0`]);
