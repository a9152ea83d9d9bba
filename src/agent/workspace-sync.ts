import { RpcTarget, type RpcStub } from "capnweb";
import type { ChangePage, WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError } from "../workspace-do/errors.ts";
import { MAX_MESSAGE_BYTES, type WorkspaceSyncApi, type WsdPeer } from "../wsd/protocol.ts";

/**
 * The object's side of one wsd session: the change log and chunks of its workspace, and the
 * peer's callback kept for notifications (dropped when a call to it fails: the peer is gone).
 */
export class WorkspaceSync extends RpcTarget implements WorkspaceSyncApi {
  readonly #fs: WorkspaceFs;
  readonly #peers: Set<RpcStub<WsdPeer>>;

  constructor(fs: WorkspaceFs, peers: Set<RpcStub<WsdPeer>>) {
    super();
    this.#fs = fs;
    this.#peers = peers;
  }

  hello(peer: RpcStub<WsdPeer>): { rev: number; chunkSize: number } {
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
