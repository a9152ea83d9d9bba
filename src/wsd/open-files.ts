import type { Stats, WorkspaceFs } from "../workspace-do/engine.ts";

/**
 * The open files of one view of the replica (the FUSE mount, or the Node VFS), and the write
 * model both share (docs/02-fuse-write-model.md): each handle buffers one contiguous run of
 * writes and lands it in the engine as one positional write (one transaction, rewriting only
 * the chunks it covers) when the run breaks, grows past {@link MAX_PENDING_BYTES}, or the file
 * is flushed, fsync'd, closed or looked at. Sync holds a file back while its writer is at work
 * ({@link OpenFiles.writerActiveAt}), so the workspace gets it whole, on close.
 *
 * A file `create` makes is not in the engine yet ({@link OpenFiles.create}): its handle answers
 * for it (with an inode number the engine reserved) until its first writes land, at close for a
 * small file, when the file is made with them in one transaction.
 *
 * Attribute changes to a file open for writing (`tar x` sets times, owner and mode before it
 * closes each file) wait on the handle too ({@link OpenFiles.deferAttributes}) and land after its
 * writes in the same transaction: a new file written and set up that way costs one transaction
 * at close (its creation, content and attributes), not one per call. Until then `stat` answers them
 * from the handle ({@link OpenFiles.overlay}); a later write, or any other use of the path, lands
 * them first, so they always apply in the order they were made.
 */
export class OpenFiles {
  readonly #fs: WorkspaceFs;
  readonly #files = new Map<number, OpenFile>();
  #nextFd = 1;
  /** A full-size run buffer a landed run left, for the next run that grows (one at most). */
  #spare: Uint8Array | undefined;
  /** Handles holding deferred attribute changes (0: nothing to overlay or land first). */
  #deferring = 0;
  /** Handles on files made by {@link create} that the engine does not hold yet. */
  #creating = 0;

  constructor(fs: WorkspaceFs) {
    this.#fs = fs;
  }

  /**
   * A new handle on `path`; one open for writing counts as a writer at work from now.
   * `linkedIno`: the file's inode number when it has other names (else 0).
   */
  open(path: string, writing: boolean, linkedIno = 0): number {
    const fd = this.#nextFd++;
    this.#files.set(fd, { path, writing, activeAt: writing ? Date.now() : 0, linkedIno });
    return fd;
  }

  get(fd: number): OpenFile | undefined {
    return this.#files.get(fd);
  }

  /**
   * A handle on a new file at `path` that the engine will make when the handle's writes first
   * land: until then {@link createdStats} answers for it, and anything else that looks at it or
   * its directory lands it first ({@link settleCreated}). The file's inode number is reserved now.
   */
  create(path: string, mode: number, owner: { uid: number; gid: number }): number {
    const fd = this.open(path, true);
    const now = Date.now();
    this.#files.get(fd)!.creating = { ino: this.#fs.reserveIno(), mode, owner, at: now };
    this.#creating++;
    return fd;
  }

  /** The stats of a file made by {@link create} that the engine does not hold yet, or undefined. */
  createdStats(path: string): Stats | undefined {
    if (this.#creating === 0) return undefined;
    for (const file of this.#files.values()) {
      const creating = file.creating;
      if (!creating || file.path !== path) continue;
      const run = file.pending;
      const stats: Stats = {
        ino: creating.ino,
        type: "file",
        mode: creating.mode,
        uid: creating.owner.uid,
        gid: creating.owner.gid,
        size: run ? run.position + run.length : 0,
        nlink: 1,
        rdev: 0,
        atimeMs: creating.at,
        mtimeMs: run ? file.activeAt : creating.at,
        ctimeMs: run ? file.activeAt : creating.at,
        birthtimeMs: creating.at,
      };
      return this.overlay(path, stats);
    }
    return undefined;
  }

  /**
   * One of the handle's descriptors closed (FUSE flush): its writes and attribute changes land.
   * A file still being created with none of either waits for them (a shell's redirect closes a
   * duplicate descriptor before it writes), so it is still made with its content in one step.
   */
  flush(file: OpenFile): void {
    if (file.pending || file.attributes) this.commit(file);
  }

  /** Makes in the engine the files made by {@link create} at `path` (or under it, or all) that it does not hold yet. */
  settleCreated(path?: string): void {
    if (this.#creating === 0) return;
    const under = path === "/" ? "/" : `${path}/`;
    for (const file of this.#files.values()) {
      if (file.creating && (path === undefined || file.path === path || file.path.startsWith(under))) this.commit(file);
    }
  }

  /** Lands the handle's writes and forgets it; answers it (undefined if it was not open). */
  close(fd: number): OpenFile | undefined {
    const file = this.#files.get(fd);
    if (!file) return undefined;
    this.#files.delete(fd);
    this.commit(file);
    return file;
  }

  /** Forgets a handle whose open failed, without landing anything. */
  discard(fd: number): void {
    const file = this.#files.get(fd);
    if (file?.attributes) this.#deferring--;
    if (file?.creating) this.#creating--;
    this.#files.delete(fd);
  }

  /** Adds a write to the handle's run, landing the run first when this write does not continue it. */
  write(file: OpenFile, position: number, bytes: Uint8Array): void {
    file.activeAt = Date.now();
    // Attribute changes made before this write must land before it (a write after utimens moves mtime).
    if (this.#deferring > 0) for (const other of this.#files.values()) if (other.path === file.path && other.attributes) this.commit(other);
    let run = file.pending;
    if (!run || run.position + run.length !== position || run.length + bytes.byteLength > MAX_PENDING_BYTES) {
      // The run this write breaks lands (a file still being created, with it); the first run waits.
      if (run) this.commit(file);
      run = file.pending = { position, buffer: new Uint8Array(Math.max(bytes.byteLength, 64 * 1024)), length: 0 };
    }
    if (run.length + bytes.byteLength > run.buffer.byteLength) {
      // Grows geometrically up to the cap, so a small file never pays for a 4 MiB buffer; a run
      // that grows on takes the full-size buffer a landed run left (a large write allocates once).
      const spare = this.#spare;
      this.#spare = undefined;
      const grown = spare ?? new Uint8Array(Math.min(MAX_PENDING_BYTES, Math.max(run.length + bytes.byteLength, run.buffer.byteLength * 2)));
      grown.set(run.buffer.subarray(0, run.length));
      run.buffer = grown;
    }
    run.buffer.set(bytes, run.length);
    run.length += bytes.byteLength;
  }

  /**
   * Lands the handle's buffered run, then its deferred attribute changes, in one transaction;
   * for a file made by {@link create}, the file itself first, with the run as its content when
   * the run starts at 0.
   */
  commit(file: OpenFile): void {
    const { pending, attributes, creating } = file;
    if (!pending && !attributes && !creating) return;
    file.pending = undefined;
    if (attributes) {
      file.attributes = undefined;
      this.#deferring--;
    }
    if (creating) {
      file.creating = undefined;
      this.#creating--;
    }
    const land = () => {
      let written = pending;
      if (creating) {
        const content = pending?.position === 0 ? pending.buffer.subarray(0, pending.length) : "";
        if (content !== "") written = undefined;
        this.#fs.writeFile(file.path, content, { mode: creating.mode, owner: creating.owner, exclusive: true, ino: creating.ino });
      }
      if (written) this.#fs.write(file.path, written.buffer.subarray(0, written.length), written.position);
      if (attributes) applyAttributes(this.#fs, file.path, attributes);
    };
    if ([pending, attributes, creating].filter(Boolean).length > 1) this.#fs.batch(land);
    else land();
    // The engine keeps no reference to the bytes it was given (it hashes and stores copies).
    if (pending?.buffer.byteLength === MAX_PENDING_BYTES) this.#spare = pending.buffer;
  }

  /** Lands buffered writes and attribute changes to `path` (or to every file) before anything else uses it. */
  settle(path?: string): void {
    for (const file of this.#files.values()) if (path === undefined || file.path === path) this.commit(file);
  }

  /**
   * Lands what handles on another name of hard-linked inode `ino` hold (a write through one name
   * shows through every other at once, as on a local disk); true when something landed.
   */
  settleLinked(ino: number, path: string): boolean {
    let landed = false;
    for (const file of this.#files.values()) {
      if (file.linkedIno !== ino || file.path === path || (!file.pending && !file.attributes)) continue;
      this.commit(file);
      landed = true;
    }
    return landed;
  }

  /**
   * What `stat` needs before it asks the engine: lands the buffered writes of `path`'s handles
   * that hold no deferred attributes. A handle that does keeps its writes with them, to land in
   * one transaction at close; {@link overlay} accounts for both.
   */
  settleForStat(path: string): void {
    for (const file of this.#files.values()) if (file.path === path && !file.attributes) this.commit(file);
  }

  /**
   * Keeps an attribute change to `path` on a handle open for writing on it, to land with its
   * writes ({@link commit}); answers false (nothing kept) when no such handle is open. Every
   * field is the full new value (the caller resolves "unchanged" against {@link overlay}).
   */
  deferAttributes(path: string, change: DeferredAttributes): boolean {
    for (const file of this.#files.values()) {
      if (!file.writing || file.path !== path) continue;
      if (!file.attributes) this.#deferring++;
      file.attributes = { ...file.attributes, ...change };
      file.attributesAt = Date.now();
      return true;
    }
    return false;
  }

  /** `stats` of `path` from the engine as its handles' deferred attribute changes and the writes kept with them make it. */
  overlay(path: string, stats: Stats): Stats {
    if (this.#deferring === 0) return stats;
    let result = stats;
    for (const file of this.#files.values()) {
      if (file.path !== path || !file.attributes) continue;
      const { mode, owner, times } = file.attributes;
      const run = file.pending;
      const size = run ? Math.max(result.size, run.position + run.length) : result.size;
      result = {
        ...result,
        size,
        mode: mode ?? result.mode,
        uid: owner?.uid ?? result.uid,
        gid: owner?.gid ?? result.gid,
        atimeMs: times?.atimeMs ?? result.atimeMs,
        // Kept writes were made before the attribute changes: times set by them are the last word.
        mtimeMs: times?.mtimeMs ?? (run ? Math.max(result.mtimeMs, file.activeAt) : result.mtimeMs),
        ctimeMs: Math.max(result.ctimeMs, file.attributesAt ?? 0),
      };
    }
    return result;
  }

  /** A rename happened: handles follow their file, as on a local filesystem. */
  renamed(from: string, to: string): void {
    for (const file of this.#files.values()) {
      if (file.path === from) file.path = to;
      else if (file.path.startsWith(`${from}/`)) file.path = to + file.path.slice(from.length);
    }
  }

  /**
   * When a handle open for writing on `path` was last active (opened, written, truncated), in
   * ms, or undefined when none is open: sync holds such a file back (docs/03-sync-protocol.md).
   */
  writerActiveAt(path: string): number | undefined {
    let latest: number | undefined;
    for (const file of this.#files.values()) if (file.writing && file.path === path) latest = Math.max(latest ?? 0, file.activeAt);
    return latest;
  }

  get count(): number {
    return this.#files.size;
  }

  /** The paths of the open files (their content must stay in the replica). */
  paths(): string[] {
    return [...new Set([...this.#files.values()].map((file) => file.path))];
  }
}

export interface OpenFile {
  path: string;
  /** Opened for writing (or created). */
  writing: boolean;
  /** When it was last opened, written or truncated (ms); 0 once an fsync made it durable. */
  activeAt: number;
  /** Its inode number when it had other names at open (their cached attributes go when writes land), else 0. */
  linkedIno?: number;
  /** Attribute changes waiting to land after the buffered writes ({@link OpenFiles.deferAttributes}). */
  attributes?: DeferredAttributes;
  /** When the last of them was made (the ctime `stat` shows meanwhile). */
  attributesAt?: number;
  /** A file made by {@link OpenFiles.create} that the engine does not hold yet: how to make it. */
  creating?: { ino: number; mode: number; owner: { uid: number; gid: number }; at: number };
  /** Buffered writes: `length` bytes at `position`, in a buffer that grows to at most 4 MiB. */
  pending?: { position: number; buffer: Uint8Array; length: number };
}

export const MAX_PENDING_BYTES = 4 * 1024 * 1024;

/** Attribute changes kept on a handle, each the full new value (as chmod, chown and utimens set them). */
export interface DeferredAttributes {
  mode?: number;
  owner?: { uid: number; gid: number };
  times?: { atimeMs: number; mtimeMs: number };
}

/** Applies deferred attribute changes as the calls that made them would have (never following a symlink). */
function applyAttributes(fs: WorkspaceFs, path: string, { mode, owner, times }: DeferredAttributes): void {
  if (owner) fs.lchown(path, owner.uid, owner.gid);
  if (mode !== undefined) fs.chmod(path, mode);
  if (times) fs.lutimes(path, times.atimeMs, times.mtimeMs);
}
