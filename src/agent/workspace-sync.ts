import { RpcTarget, type RpcStub } from "capnweb";
import type { ChangePage, WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError } from "../workspace-do/errors.ts";
import { applyEntry, chunksNamed } from "../workspace-do/sync.ts";
import { MAX_MESSAGE_BYTES, type PushedChange, type PushResult, type WorkspaceSyncApi, type WsdPeer } from "../wsd/protocol.ts";

/**
 * The object's side of one wsd session: the change log and chunks of its workspace, and the
 * peer's callback kept for notifications (dropped when a call to it fails: the peer is gone).
 */
export class WorkspaceSync extends RpcTarget implements WorkspaceSyncApi {
  readonly #fs: WorkspaceFs;
  readonly #peers: Set<RpcStub<WsdPeer>>;
  /** Chunks uploaded for the next push (an engine upload, released after it). */
  #upload: number | undefined;
  #peerId = "wsd";

  constructor(fs: WorkspaceFs, peers: Set<RpcStub<WsdPeer>>) {
    super();
    this.#fs = fs;
    this.#peers = peers;
  }

  hello(peer: RpcStub<WsdPeer>, peerId: string): { rev: number; chunkSize: number } {
    if (typeof peerId === "string" && /^[\w.-]{1,64}$/.test(peerId)) this.#peerId = peerId;
    this.#peers.add(peer.dup());
    return { rev: this.#fs.rev, chunkSize: this.#fs.chunkSize };
  }

  pull(since: number, limit = 1000): ChangePage {
    if (!Number.isSafeInteger(since) || since < 0) throw new FsError("EINVAL", "(since)", `cannot be ${since}; give a revision this server returned`);
    return this.#fs.changesSince(since, { limit: Math.min(Math.max(1, limit), 10_000) });
  }

  chunks(hashes: string[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    let bytes = 0;
    for (const hash of hashes) {
      const data = this.#fs.chunk(hash);
      if (!data) throw new FsError("ENOENT", hash, "is not a chunk of this workspace (it may have been freed: pull again)");
      if (out.length > 0 && bytes + data.byteLength > MAX_MESSAGE_BYTES) break;
      out.push(data);
      bytes += data.byteLength;
    }
    return out;
  }

  missing(hashes: string[]): string[] {
    return this.#fs.missingChunks(hashes);
  }

  upload(chunks: Uint8Array[]): string[] {
    const total = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    if (total > MAX_MESSAGE_BYTES) throw new FsError("EFBIG", "(upload)", `carries ${total} bytes; send at most ${MAX_MESSAGE_BYTES} per call`);
    this.#upload ??= this.#fs.openUpload();
    return chunks.map((chunk) => this.#fs.stageChunk(this.#upload!, chunk));
  }

  push(changes: PushedChange[]): PushResult {
    const applied: string[] = [];
    const conflicts: PushResult["conflicts"] = [];
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    this.#upload ??= this.#fs.openUpload();
    this.#fs.holdChunks(this.#upload, chunksNamed(changes.map(({ entry }) => entry)));
    try {
      this.#fs.batch(() => {
        for (const { entry, base } of changes) {
          const last = this.#fs.lastChange(entry.path);
          if (last.rev <= base || last.writer === this.#peerId) {
            applyEntry(this.#fs, entry);
            applied.push(entry.path);
            continue;
          }
          // Changed here too: the object's version stays; a file's other version is kept beside it.
          const keptAs = !entry.deleted && entry.stats.type === "file" ? `${entry.path}.conflict-${this.#peerId}-${stamp}` : undefined;
          if (keptAs) applyEntry(this.#fs, { ...entry, path: keptAs });
          conflicts.push(keptAs ? { path: entry.path, keptAs } : { path: entry.path });
        }
      }, { writer: this.#peerId });
    } finally {
      if (this.#upload !== undefined) this.#fs.closeUpload(this.#upload);
      this.#upload = undefined;
    }
    for (const conflict of conflicts) console.log(`wsd conflict: ${conflict.path} changed on both sides; the workspace's version stays${conflict.keptAs ? `, the sandbox's is ${conflict.keptAs}` : ""}`);
    return { rev: this.#fs.rev, applied, conflicts };
  }
}

/** Tells every connected peer the workspace reached `rev`, forgetting those that are gone. */
export function notifyPeers(peers: Set<RpcStub<WsdPeer>>, rev: number): void {
  for (const peer of peers) {
    peer.changed(rev).catch(() => {
      peers.delete(peer);
      peer[Symbol.dispose]();
    });
  }
}
