import type { ContentIndexUsage } from "./content-index.ts";
import type { HistoryOptions } from "./history-store.ts";
import type { FileType } from "./schema.ts";

export type { FileType } from "./schema.ts";

/** Options for `WorkspaceFs`. Every limit is in bytes. */
export interface WorkspaceFsOptions {
  /** Chunk size for a new database (fixed once created; at most 1 MiB). Default 256 KiB. */
  chunkSize?: number;
  /** Largest file; larger writes fail with EFBIG. Default 2 GiB. */
  maxFileSize?: number;
  /** Most bytes the workspace may store after dedup; writes past it fail with ENOSPC. Default 9 GiB. */
  maxWorkspaceBytes?: number;
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Called after each committed mutation that reached a new revision (sync notifies peers here). */
  onChange?: (rev: number) => void;
  /**
   * Keep the bytes of chunks nothing references until `WorkspaceFs.collectGarbage` (wsd
   * calls it when the mount is quiet), so an overwrite does not also pay for deleting the old
   * content. Default false: freed at once.
   */
  deferChunkFrees?: boolean;
  /**
   * Keep history: every state of every path, who made each revision, checkpoints, restore and
   * undo (`WorkspaceFs.history`). `true` keeps it as `HISTORY_DEFAULTS` says. Default off (a
   * wsd replica keeps none: the workspace's object does). Turned on for a database that has
   * none, or had it off meanwhile, it starts from the tree as it is.
   */
  history?: boolean | HistoryOptions;
  /**
   * Keep a trigram index of the text of files up to 1 MiB, so `grep` reads only the files that
   * can match (docs/07-search-index.md). It is kept in each write's transaction, which costs
   * writes a little. Default true. Opened with false, a database's index is dropped (writes would
   * no longer keep it); turned on again, it is rebuilt by the searches that follow.
   */
  contentIndex?: boolean | ContentIndexOptions;
}

/** How the content index is kept (see `WorkspaceFsOptions.contentIndex`). */
export interface ContentIndexOptions {
  /**
   * Files indexed per search while the index is built for a workspace that had files before it
   * (the rest are read as without an index until it is complete). Default 2000.
   */
  buildBatch?: number;
}

/** What `stat` and `lstat` answer; times in milliseconds since the epoch. */
export interface Stats {
  ino: number;
  type: FileType;
  /** Permission bits (`0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  /** A device's number (`makedev(major, minor)`); 0 for everything but devices. */
  rdev: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
}

/** One entry of a directory listing. */
export interface DirEntry {
  name: string;
  type: FileType;
}

/** A listing entry with its stats (`readdir(path, { withStats: true })`). */
export interface DirEntryWithStats extends DirEntry {
  stats: Stats;
}

/** Which bytes of a file to read. */
export interface ReadOptions {
  /** First byte to read. Default 0. */
  byteOffset?: number;
  /** Most bytes to read. Default: to the end. */
  byteLength?: number;
}

/** Who owns what a call creates. Default uid 0, gid 0. */
export interface Owner {
  uid: number;
  gid: number;
}

/** For an operation that creates or moves something to a path. */
export interface ParentsOption {
  /**
   * Create the missing parent directories first, then act, all in the operation's one
   * transaction: when the operation fails, none of them remains. Each is made as
   * `mkdir(dir, { recursive: true })` would make it (mode `0o755`, uid 0, gid 0); something on
   * the way that is not a directory fails with ENOTDIR. Default false: a missing parent is ENOENT.
   */
  parents?: boolean;
}

/** How `writeFile`, `writeFileStream` and `writeFileChunks` create and replace a file. */
export interface WriteOptions extends ParentsOption {
  /** Permission bits of a file this call creates. Default `0o644`. */
  mode?: number;
  /** Owner of a file this call creates. */
  owner?: Owner;
  /** Fail with EEXIST when the file exists (`O_EXCL`). */
  exclusive?: boolean;
  /** The inode number of a file this call creates: one `WorkspaceFs.reserveIno` answered. */
  ino?: number;
}

/**
 * One entry of the change log (see `WorkspaceFs.changesSince`): a path in its latest state, or
 * a tombstone (`deleted`) when it does not exist now. `rev` is the revision that last touched
 * it; `writer` the sync peer whose push made that change, if one did.
 */
export type ChangeEntry =
  | { path: string; rev: number; writer?: string; deleted: true }
  | { path: string; rev: number; writer?: string; deleted: false; stats: Stats; chunks?: string[]; target?: string };

/** One page of `WorkspaceFs.changesSince`. */
export interface ChangePage {
  entries: ChangeEntry[];
  /** Pass back as `since` for the next page; the revision of the last entry. */
  rev: number;
  /** True when more entries follow. */
  more: boolean;
}

/** One entry of `WorkspaceFs.walk`. */
export interface WalkEntry {
  path: string;
  type: FileType;
  /** Depth below the walk's root: its children are at depth 1. */
  depth: number;
}

/** Options for `WorkspaceFs.walk`. */
export interface WalkOptions {
  /** Most levels to descend; 1 lists only the children. Default unlimited. */
  maxDepth?: number;
  /** Return false to leave out a directory and everything below it. */
  enter?: (entry: WalkEntry) => boolean;
  /** Resume after this path (exclusive), in walk order. */
  after?: string;
}

/** What `WorkspaceFs.usage` answers: counts, bytes and limits. */
export interface Usage {
  files: number;
  directories: number;
  symlinks: number;
  /** FIFOs, sockets and devices. */
  specialFiles: number;
  /** Sum of file sizes (each inode once). */
  logicalBytes: number;
  /** Bytes actually stored, each distinct chunk once: live files' and history's. */
  storedBytes: number;
  /** Of `storedBytes`, the chunks some live file references (each once). */
  liveBytes: number;
  /** Of `storedBytes`, the chunks only history keeps (`storedBytes - liveBytes`). */
  historyBytes: number;
  /** With history: versions and checkpoints kept, and the oldest revision every state is kept from. */
  history?: { versions: number; checkpoints: number; since: number };
  /** `logicalBytes - storedBytes`: what content-addressing saved. */
  dedupSavedBytes: number;
  /** With the content index on: files and bytes of text indexed, and the bytes the index takes. */
  contentIndex?: ContentIndexUsage;
  chunks: number;
  maxWorkspaceBytes: number;
  maxFileSize: number;
  rev: number;
}
