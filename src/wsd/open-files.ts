import type { WorkspaceFs } from "../workspace-do/engine.ts";

/**
 * The open files of one view of the replica (the FUSE mount, or the Node VFS), and the write
 * model both share (docs/02-fuse-write-model.md): each handle buffers one contiguous run of
 * writes and lands it in the engine as one positional write (one transaction, rewriting only
 * the chunks it covers) when the run breaks, grows past {@link MAX_PENDING_BYTES}, or the file
 * is flushed, fsync'd, closed or looked at. Sync holds a file back while its writer is at work
 * ({@link OpenFiles.writerActiveAt}), so the workspace gets it whole, on close.
 */
export class OpenFiles {
  readonly #fs: WorkspaceFs;
  readonly #files = new Map<number, OpenFile>();
  #nextFd = 1;

  constructor(fs: WorkspaceFs) {
    this.#fs = fs;
  }

  /** A new handle on `path`; one open for writing counts as a writer at work from now. */
  open(path: string, writing: boolean): number {
    const fd = this.#nextFd++;
    this.#files.set(fd, { path, writing, activeAt: writing ? Date.now() : 0 });
    return fd;
  }

  get(fd: number): OpenFile | undefined {
    return this.#files.get(fd);
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
    this.#files.delete(fd);
  }

  /** Adds a write to the handle's run, landing the run first when this write does not continue it. */
  write(file: OpenFile, position: number, bytes: Uint8Array): void {
    file.activeAt = Date.now();
    let run = file.pending;
    if (!run || run.position + run.length !== position || run.length + bytes.byteLength > MAX_PENDING_BYTES) {
      this.commit(file);
      run = file.pending = { position, buffer: new Uint8Array(Math.max(bytes.byteLength, 64 * 1024)), length: 0 };
    }
    if (run.length + bytes.byteLength > run.buffer.byteLength) {
      // Grows geometrically up to the cap, so a small file never pays for a 4 MiB buffer.
      const grown = new Uint8Array(Math.min(MAX_PENDING_BYTES, Math.max(run.length + bytes.byteLength, run.buffer.byteLength * 2)));
      grown.set(run.buffer.subarray(0, run.length));
      run.buffer = grown;
    }
    run.buffer.set(bytes, run.length);
    run.length += bytes.byteLength;
  }

  /** Lands the handle's buffered run in the engine. */
  commit(file: OpenFile): void {
    const pending = file.pending;
    if (!pending) return;
    file.pending = undefined;
    this.#fs.write(file.path, pending.buffer.subarray(0, pending.length), pending.position);
  }

  /** Lands buffered writes to `path` (or to every file) before anything looks at it. */
  settle(path?: string): void {
    for (const file of this.#files.values()) if (path === undefined || file.path === path) this.commit(file);
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
  /** Buffered writes: `length` bytes at `position`, in a buffer that grows to at most 4 MiB. */
  pending?: { position: number; buffer: Uint8Array; length: number };
}

export const MAX_PENDING_BYTES = 4 * 1024 * 1024;
