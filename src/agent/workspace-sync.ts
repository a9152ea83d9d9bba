import { type RpcStub, RpcTarget } from "capnweb";
import { MAX_MESSAGE_BYTES, type PushedChange, type PushResult, type WorkspaceSyncApi, type WsdInfo, type WsdPeer } from "../wire/sync.ts";
import type { ChangePage, WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError } from "../workspace-do/errors.ts";
import { applyEntry, chunksNamed } from "../workspace-do/sync.ts";
import type { AttachedWsd, AttachedWsds } from "./attached-wsd.ts";

/** A pushed change the object kept its own version of; the sandbox's is at `keptAs`. */
export type SyncConflict = PushResult["conflicts"][number] & { wsd: string };

/**
 * The object's side of one wsd session: the change log and chunks of its workspace, and the
 * peer's callback, attached to the workspace's wsd sessions for notifications and exec.
 */
export class WorkspaceSync extends RpcTarget implements WorkspaceSyncApi {
  readonly #fs: WorkspaceFs;
  readonly #attached: AttachedWsds;
  readonly #onConflict: (conflict: SyncConflict) => void;
  /** Chunks uploaded for the next push (an engine upload, released after it). */
  #upload: number | undefined;
  #peerId = "wsd";
  #session: AttachedWsd | undefined;

  constructor(fs: WorkspaceFs, attached: AttachedWsds, onConflict: (conflict: SyncConflict) => void) {
    super();
    this.#fs = fs;
    this.#attached = attached;
    this.#onConflict = onConflict;
  }

  hello(peer: RpcStub<WsdPeer>, peerId: string, about?: WsdInfo): { rev: number; chunkSize: number } {
    if (typeof peerId === "string" && /^[\w.-]{1,64}$/.test(peerId)) this.#peerId = peerId;
    if (this.#session) this.#attached.detach(this.#session);
    this.#session = this.#attached.attach(peer.dup(), this.#peerId, describe(about, this.#peerId));
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
    return this.#fs.stageChunks(this.#upload, chunks);
  }

  push(changes: PushedChange[]): PushResult {
    const applied: string[] = [];
    const conflicts: PushResult["conflicts"] = [];
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    // Commands running on this wsd learn which paths this push touches (see ChangeWatch).
    const watches = [...(this.#session?.watches ?? [])];
    this.#upload ??= this.#fs.openUpload();
    this.#fs.holdChunks(this.#upload, chunksNamed(changes.map(({ entry }) => entry)));
    // History records a push as the command's that runs on this wsd, if one does.
    const wsd = this.#session?.info.name ?? this.#peerId;
    const source = watches[0]?.source ?? { kind: "wsd", name: wsd };
    try {
      this.#fs.withSource(source, () =>
        this.#fs.batch(
          () => {
            for (const { entry, base } of changes) {
              for (const watch of watches) watch.touching(this.#fs, entry.path);
              const last = this.#fs.lastChange(entry.path);
              if (last.rev <= base || last.writer === this.#peerId) {
                applyEntry(this.#fs, entry);
                applied.push(entry.path);
                continue;
              }
              // Changed here too: the object's version stays; a file's other version is kept beside it.
              const keptAs = !entry.deleted && entry.stats.type === "file" ? `${entry.path}.conflict-${this.#peerId}-${stamp}` : undefined;
              if (keptAs) {
                for (const watch of watches) watch.touching(this.#fs, keptAs);
                applyEntry(this.#fs, { ...entry, path: keptAs });
              }
              conflicts.push(keptAs ? { path: entry.path, keptAs } : { path: entry.path });
            }
          },
          { writer: this.#peerId },
        ),
      );
    } finally {
      if (this.#upload !== undefined) this.#fs.closeUpload(this.#upload);
      this.#upload = undefined;
    }
    for (const watch of watches) watch.conflicts.push(...conflicts);
    const kept = conflicts.filter((conflict) => conflict.keptAs);
    if (kept.length > 0) {
      // The sandbox's losing versions sit beside the originals: this point keeps both for good.
      this.#fs.history?.checkpoint(`conflict with wsd ${wsd}: ${kept.map((conflict) => conflict.path).join(", ")}`.slice(0, 200), { auto: true });
    }
    for (const conflict of conflicts) this.#onConflict({ ...conflict, wsd });
    return { rev: this.#fs.rev, applied, conflicts };
  }

  /** The session ended (capnweb disposes the main target). */
  [Symbol.dispose](): void {
    if (this.#session) this.#attached.detach(this.#session);
  }
}

/** A wsd's own description, checked; an older wsd that sent none cannot run commands. */
function describe(about: WsdInfo | undefined, peerId: string): WsdInfo {
  const text = (value: unknown, fallback: string) => (typeof value === "string" && value.length > 0 && value.length <= 256 ? value : fallback);
  return { name: text(about?.name, peerId), exec: about?.exec === true, mountpoint: text(about?.mountpoint, "(unknown)") };
}
