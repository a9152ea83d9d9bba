import type { ChangeEntry, Point, WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError } from "../workspace-do/errors.ts";
import { applyChanges, chunksNamed } from "../workspace-do/sync.ts";

/**
 * Fork: a workspace's tree at a point copied into another, empty workspace (another Durable
 * Object), sending only the chunks the target lacks. The copy shares nothing afterwards; it
 * starts with one checkpoint, "forked from <name> at revision <rev>".
 */

/** What a fork did. */
export interface ForkResult {
  /** The source's revision that was copied. */
  rev: number;
  /** Paths copied (files, directories, symlinks, special files). */
  paths: number;
  /** Chunks sent, and their bytes; identical content is sent once. */
  chunksSent: number;
  bytesSent: number;
}

/** The receiving workspace's calls, over Durable Object RPC (the `fork*` methods of `WorkspaceAgent`). */
export interface ForkTarget {
  forkBegin(hashes: string[]): Promise<string[]>;
  forkChunks(chunks: Uint8Array[]): Promise<void>;
  forkApply(entries: ChangeEntry[], origin: string, last: boolean): Promise<void>;
}

/** Bytes of chunks per call (an RPC message holds at most 32 MiB). */
const CHUNK_BYTES_PER_CALL = 16 * 1024 * 1024;
/** Paths per apply call; each call is one transaction of the target. */
const PATHS_PER_CALL = 5000;

/** Sends `fs`'s tree at `at` to `target`. */
export async function sendFork(fs: WorkspaceFs, target: ForkTarget, at: Point, origin: string): Promise<ForkResult> {
  if (!fs.history) throw new FsError("EINVAL", "(fork)", "needs history, which this workspace's server does not keep");
  const rev = fs.history.resolve(at);
  const entries = fs.history.treeAt(rev);
  const lacking = await target.forkBegin([...new Set(chunksNamed(entries))]);
  let batch: Uint8Array[] = [];
  let bytes = 0;
  let bytesSent = 0;
  const send = async () => {
    if (batch.length > 0) await target.forkChunks(batch);
    batch = [];
    bytes = 0;
  };
  for (const hash of lacking) {
    const data = fs.chunk(hash);
    if (!data) throw new FsError("EIO", hash, "is missing from the workspace's chunks");
    if (bytes + data.byteLength > CHUNK_BYTES_PER_CALL) await send();
    batch.push(data);
    bytes += data.byteLength;
    bytesSent += data.byteLength;
  }
  await send();
  const label = `${origin} at revision ${rev}`;
  for (let start = 0; start < entries.length || start === 0; start += PATHS_PER_CALL) {
    await target.forkApply(entries.slice(start, start + PATHS_PER_CALL), label, start + PATHS_PER_CALL >= entries.length);
  }
  return { rev, paths: entries.length, chunksSent: lacking.length, bytesSent };
}

/** The receiving side: the upload that holds the chunks between the calls of one fork. */
export class ForkReceiver {
  #upload: number | undefined;

  begin(fs: WorkspaceFs, hashes: string[]): string[] {
    if (fs.readdir("/").length > 0) throw new FsError("EEXIST", "/", "is not empty in the workspace to fork into; fork into a new workspace name");
    if (this.#upload !== undefined) fs.closeUpload(this.#upload);
    this.#upload = fs.openUpload();
    return fs.missingChunks(hashes);
  }

  chunks(fs: WorkspaceFs, chunks: Uint8Array[]): void {
    const upload = this.#uploadOf();
    fs.stageChunks(upload, chunks);
  }

  apply(fs: WorkspaceFs, entries: ChangeEntry[], origin: string, last: boolean): void {
    const upload = this.#uploadOf();
    fs.holdChunks(upload, chunksNamed(entries));
    fs.withSource({ kind: "api", name: "fork", detail: `from ${origin}` }, () => applyChanges(fs, entries));
    if (!last) return;
    fs.closeUpload(upload);
    this.#upload = undefined;
    fs.history?.checkpoint(`forked from ${origin}`);
  }

  #uploadOf(): number {
    if (this.#upload === undefined) throw new FsError("EINVAL", "(fork)", "has no fork in progress here (the workspace restarted meanwhile?); fork again");
    return this.#upload;
  }
}
