import { createTwoFilesPatch } from "diff";
import type { ChangeEntry, WorkspaceFs } from "./engine.ts";
import { FsError } from "./errors.ts";
import { type ChangeKind, type Checkpoint, changeKind, entryOf, type HistoryEntry, type HistoryStore, type PathState, type Point } from "./history-store.ts";
import { comparePaths, normalizePath } from "./paths.ts";
import { applyEntry } from "./sync.ts";

export type { ChangeKind, Checkpoint, HistoryEntry, HistoryOptions, PathState, Point, Source } from "./history-store.ts";

/** How one path differs between two points; text files carry a unified diff. */
export interface PathDiff {
  path: string;
  change: ChangeKind;
  before?: PathState;
  after?: PathState;
  /** A unified diff (`a/<path>` → `b/<path>`) when both sides are text (or one is absent). */
  patch?: string;
  /** True when either side is binary or too large for a text diff: compare `size` and `chunks`. */
  binary?: boolean;
}

export interface DiffResult {
  from: number;
  to: number;
  changes: PathDiff[];
  /** More paths differed than `limit`, or the patches passed their size cap. */
  truncated: boolean;
}

/** What a restore or an undo changed (or would change, with `dryRun`). */
export interface RestoreResult {
  /** The revision the restore made (the current one when nothing changed or on a dry run). */
  rev: number;
  /** The revision each path went back to (for an undo: the one before each path's first change by the call). */
  to: number;
  changes: { path: string; change: ChangeKind }[];
  dryRun: boolean;
}

export interface UndoResult extends RestoreResult {
  /** The calls undone. */
  calls: string[];
  /** Paths another writer changed after the call, undone anyway because of `force`. */
  overridden: string[];
}

/** A point as text (a tool argument, a query parameter): a revision, "now", "checkpoint:<id>" or a checkpoint's label. */
export function parsePoint(value: number | string): Point {
  if (typeof value === "number" || /^\d+$/.test(value)) return Number(value);
  if (value === "now") return "now";
  const id = /^checkpoint:(\d+)$/.exec(value);
  if (id) return { checkpoint: Number(id[1]) };
  return { checkpoint: value.startsWith("checkpoint:") ? value.slice("checkpoint:".length) : value };
}

/** Text diffs are made for files up to this size, and all patches of one diff add up to at most this many characters. */
const MAX_TEXT_DIFF_BYTES = 1024 * 1024;
const MAX_PATCH_CHARS = 256 * 1024;
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The history of a workspace as operations: checkpoints, the per-path log, diff, restore and
 * undo. Rows and retention are {@link HistoryStore}'s; a restore is an ordinary batch of the
 * engine (one new revision, seen by every mount through sync, itself undoable).
 */
export class WorkspaceHistory {
  readonly #fs: WorkspaceFs;
  readonly #store: HistoryStore;

  constructor(fs: WorkspaceFs, store: HistoryStore) {
    this.#fs = fs;
    this.#store = store;
  }

  /** The oldest revision from which every state is restorable (checkpoints may reach further back). */
  get since(): number {
    return this.#store.since;
  }

  /** Names the current revision. O(1): a row. */
  checkpoint(label: string, options: { description?: string; auto?: boolean } = {}): Checkpoint {
    return this.#store.checkpoint(this.#fs.rev, label, options);
  }

  checkpoints(options: { limit?: number; auto?: boolean } = {}): Checkpoint[] {
    return this.#store.checkpoints(options);
  }

  /** The revision a point names (a revision, a checkpoint by id or label, or "now"). */
  resolve(point: Point): number {
    return this.#store.resolve(point, this.#fs.rev);
  }

  /**
   * Versions at or below `path` (default the whole workspace), newest first. Pass `next` back
   * as `before` for the following page.
   */
  log(options: { path?: string; limit?: number; before?: number } = {}): { entries: HistoryEntry[]; next?: number } {
    const limit = Math.min(Math.max(1, options.limit ?? 50), 1000);
    const entries = this.#store.list({ under: normalizePath(options.path ?? "/"), limit: limit + 1, before: options.before });
    if (entries.length <= limit) return { entries };
    // A page ends on a whole revision, so the cursor never skips part of one.
    let end = limit;
    while (end > 1 && entries[end - 1]!.rev === entries[limit]!.rev) end--;
    return { entries: entries.slice(0, end), next: entries[end - 1]!.rev };
  }

  /**
   * The change feed: every version after revision `since`, oldest first, in whole revisions, each
   * with its path, kind of change, time, state and source. Pass `rev` back as `since` to go on;
   * a cursor older than the history kept fails (ENOENT), so a reader knows it missed changes.
   */
  changes(since: number, limit = 500): { entries: HistoryEntry[]; rev: number; more: boolean } {
    if (!Number.isSafeInteger(since) || since < 0 || since > this.#fs.rev) {
      throw new FsError("EINVAL", `(since ${since})`, `is not a revision of this workspace; it is at revision ${this.#fs.rev}`);
    }
    if (since < this.#store.since) {
      throw new FsError("ENOENT", `(since ${since})`, `is older than the history kept, which starts at revision ${this.#store.since}; start again from there`);
    }
    return this.#store.feed(since, Math.min(Math.max(1, limit), 5000));
  }

  /** The paths revision `rev` touched, each with whether it exists after it and whether it did before. */
  touchedBy(rev: number): { path: string; existed: boolean; exists: boolean }[] {
    return this.#store.touched(rev);
  }

  /** `path`'s state at a point (undefined: it did not exist then). */
  stateAt(path: string, point: Point): PathState | undefined {
    return this.#store.stateAt(normalizePath(path), this.resolve(point));
  }

  /** A file's bytes at a point. */
  readAt(path: string, point: Point): Uint8Array {
    const at = normalizePath(path);
    const rev = this.resolve(point);
    const state = this.#store.stateAt(at, rev);
    if (!state) throw new FsError("ENOENT", at, `did not exist at revision ${rev}`);
    if (state.type !== "file") throw new FsError("EISDIR", at, `was a ${state.type} at revision ${rev}, not a file`);
    return this.#bytes(state);
  }

  /** Every path that existed at a point, in its state then, parents first: a tree to copy (a fork). */
  treeAt(point: Point): ChangeEntry[] {
    const rev = this.resolve(point);
    const paths = new Set([...this.#fs.walk("/")].map((entry) => entry.path));
    for (const path of this.#store.changedPaths(rev, this.#fs.rev)) paths.add(path);
    return [...paths].sort(comparePaths).flatMap((path) => {
      const state = this.#store.stateAt(path, rev);
      return state ? [entryOf(path, state)] : [];
    });
  }

  /** What differs between two points, at or below `path`; text files with a unified diff. */
  diff(options: { from: Point; to?: Point; path?: string; limit?: number }): DiffResult {
    const from = this.resolve(options.from);
    const to = this.resolve(options.to ?? "now");
    const under = normalizePath(options.path ?? "/");
    const limit = Math.min(Math.max(1, options.limit ?? 500), 5000);
    const changes: PathDiff[] = [];
    let truncated = false;
    let patchChars = 0;
    for (const path of this.#store.changedPaths(Math.min(from, to), Math.max(from, to), under)) {
      const before = this.#store.stateAt(path, from);
      const after = this.#store.stateAt(path, to);
      const change = changeKind(before, after);
      if (!change) continue;
      if (changes.length === limit) {
        truncated = true;
        break;
      }
      const diff: PathDiff = { path, change, ...(before ? { before } : {}), ...(after ? { after } : {}) };
      if (change !== "metadata" && (before?.type ?? "file") === "file" && (after?.type ?? "file") === "file") {
        const patch = patchChars < MAX_PATCH_CHARS ? this.#patch(path, before, after) : undefined;
        if (patch === undefined) diff.binary = true;
        else if (patchChars + patch.length > MAX_PATCH_CHARS) truncated = true;
        else {
          diff.patch = patch;
          patchChars += patch.length;
        }
      }
      changes.push(diff);
    }
    return { from, to, changes, truncated };
  }

  /**
   * Makes `path` (a file, or a directory with everything below it; default the whole tree)
   * what it was at `to`, in one new revision. With `dryRun`, only answers what would change.
   */
  restore(options: { path?: string; to: Point; dryRun?: boolean }): RestoreResult {
    const under = normalizePath(options.path ?? "/");
    const to = this.resolve(options.to);
    const now = this.#fs.rev;
    const plan = this.#store.changedPaths(to, now, under).map((path) => ({ path, target: this.#store.stateAt(path, to) }));
    return this.#apply(plan, to, options.dryRun ?? false, { kind: "restore", detail: `${under} to revision ${to}` });
  }

  /**
   * Reverts exactly what some calls changed (an exec's id, or MCP calls' ids; `lastCalls`: the
   * newest N MCP tool calls that changed something): each path they touched goes back to its
   * state before their first change to it. Refused, with the list, when another writer changed
   * one of those paths after them, unless `force`.
   */
  undo(options: { calls?: string[]; lastCalls?: number; force?: boolean; dryRun?: boolean }): UndoResult {
    const calls = options.lastCalls !== undefined ? this.#lastCalls(options.lastCalls) : (options.calls ?? []);
    if (calls.length === 0) throw new FsError("EINVAL", "(undo)", "needs an exec id, a call id, or a number of last calls");
    const revs = new Set<number>();
    for (const call of calls) {
      const made = this.#store.revisionsOfCall(call);
      if (made.length === 0) throw new FsError("ENOENT", `(call ${call})`, "changed nothing history still holds; see the history tool for the calls it knows");
      for (const rev of made) revs.add(rev);
    }
    const oldest = Math.min(...revs);
    this.resolve(oldest - 1);
    const paths = [...new Set([...revs].flatMap((rev) => this.#store.pathsOf(rev)))].sort(comparePaths);
    const plan: { path: string; target: PathState | undefined }[] = [];
    const conflicts: string[] = [];
    for (const path of paths) {
      const touching = this.#store.revisionsOf(path, oldest - 1);
      const first = touching.find((rev) => revs.has(rev))!;
      const other = touching.find((rev) => rev > first && !revs.has(rev));
      if (other !== undefined) conflicts.push(`${path} (revision ${other}${this.#describe(other)})`);
      plan.push({ path, target: this.#store.stateAt(path, first - 1) });
    }
    if (conflicts.length > 0 && !options.force) {
      throw new FsError(
        "ESTALE",
        "(undo)",
        `is refused: another writer changed ${conflicts.length === 1 ? "this path" : `these ${conflicts.length} paths`} after ${calls.join(", ")}: ${conflicts.slice(0, 20).join(", ")}${conflicts.length > 20 ? ", …" : ""}; pass force to undo anyway`,
      );
    }
    const result = this.#apply(plan, oldest - 1, options.dryRun ?? false, { kind: "undo", detail: calls.join(" ").slice(0, 200) });
    return { ...result, calls, overridden: options.force ? conflicts.map((line) => line.slice(0, line.indexOf(" ("))) : [] };
  }

  #lastCalls(count: number): string[] {
    if (!Number.isSafeInteger(count) || count < 1) throw new FsError("EINVAL", "(undo)", `cannot undo ${count} calls; give a count of at least 1`);
    const calls = this.#store.lastCalls(count);
    if (calls.length === 0) throw new FsError("ENOENT", "(undo)", "found no tool call that changed something");
    return calls.map((each) => each.call);
  }

  #describe(rev: number): string {
    const source = this.#store.sourceOf(rev);
    if (!source) return "";
    return `, ${[source.kind, source.name, source.call].filter(Boolean).join(" ")}`;
  }

  #apply(
    plan: { path: string; target: PathState | undefined }[],
    to: number,
    dryRun: boolean,
    source: Parameters<WorkspaceFs["withSource"]>[0],
  ): RestoreResult {
    const steps = plan
      .map(({ path, target }) => ({ path, target, change: changeKind(this.#store.stateAt(path, this.#fs.rev), target) }))
      .filter((step): step is typeof step & { change: ChangeKind } => step.change !== undefined);
    const changes = steps.map(({ path, change }) => ({ path, change }));
    if (dryRun || steps.length === 0) return { rev: this.#fs.rev, to, changes, dryRun };
    // Parents before children: a directory comes back before its files, and removing one takes its subtree.
    steps.sort((a, b) => comparePaths(a.path, b.path));
    this.#fs.withSource(source, () =>
      this.#fs.batch(() => {
        for (const { path, target } of steps) applyEntry(this.#fs, entryOf(path, target));
      }),
    );
    return { rev: this.#fs.rev, to, changes, dryRun };
  }

  #bytes(state: PathState): Uint8Array {
    const out = new Uint8Array(state.size);
    let at = 0;
    for (const hash of state.chunks ?? []) {
      const data = this.#fs.chunk(hash);
      if (!data) throw new FsError("EIO", hash, "is missing from the workspace's chunks");
      out.set(data, at);
      at += data.byteLength;
    }
    return out;
  }

  /** A unified diff of two file states, or undefined when either is binary or too large. */
  #patch(path: string, before: PathState | undefined, after: PathState | undefined): string | undefined {
    const text = (state: PathState | undefined) => {
      if (!state) return "";
      if (state.size > MAX_TEXT_DIFF_BYTES) return undefined;
      const bytes = this.#bytes(state);
      if (bytes.includes(0)) return undefined;
      try {
        return decoder.decode(bytes);
      } catch {
        return undefined;
      }
    };
    const old = text(before);
    const now = text(after);
    if (old === undefined || now === undefined) return undefined;
    return createTwoFilesPatch(`a${path}`, `b${path}`, old, now, undefined, undefined, { context: 3 });
  }
}
