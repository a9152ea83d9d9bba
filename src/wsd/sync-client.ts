import { newWebSocketRpcSession, RpcTarget, type RpcStub } from "capnweb";
import type { ChangeEntry, WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError } from "../workspace-do/errors.ts";
import { applyChanges } from "../workspace-do/sync.ts";
import type { WorkspaceSyncApi, WsdPeer } from "./protocol.ts";

export interface SyncClientOptions {
  /** The workspace's base URL, `http(s)://host/w/<workspace>`. */
  url: string;
  /** Bearer token (the secret, or one scoped to this workspace). */
  token?: string;
  /** The local replica the workspace is pulled into. */
  replica: WorkspaceFs;
  /** Revision the replica already holds (resume); default 0. */
  cursor?: number;
  /** After each applied page: the new cursor and the paths it changed. */
  onPulled?: (rev: number, paths: string[]) => void;
}

/** Chunks asked for per call; the server also stops at 1 MiB per answer. */
const CHUNKS_PER_CALL = 64;

/**
 * wsd's side of the sync session: pulls the workspace's change log into the replica (only the
 * chunks it lacks cross the wire) and pulls again whenever the object says it moved on.
 * Concurrent pulls coalesce; a page applies whole or not at all.
 */
export class SyncClient {
  readonly #api: RpcStub<WorkspaceSyncApi>;
  readonly #options: SyncClientOptions;
  #cursor: number;
  #pulling: Promise<void> | undefined;
  #again = false;
  /** Chunks received since connect (restart tests count them). */
  chunksReceived = 0;

  private constructor(api: RpcStub<WorkspaceSyncApi>, options: SyncClientOptions) {
    this.#api = api;
    this.#options = options;
    this.#cursor = options.cursor ?? 0;
  }

  /** Opens the session, registers for notifications and pulls until caught up. */
  static async connect(options: SyncClientOptions): Promise<SyncClient> {
    const url = new URL(`${options.url.replace(/\/$/, "")}/wsd`);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const headers = options.token ? { Authorization: `Bearer ${options.token}` } : {};
    // Node's WebSocket (undici) takes headers in its second argument.
    const socket = new (WebSocket as unknown as new (url: string, init: object) => WebSocket)(url.href, { headers });
    let client: SyncClient | undefined;
    const peer = new (class extends RpcTarget implements WsdPeer {
      changed(rev: number): void {
        if (client && rev > client.cursor) void client.pull().catch(() => {});
      }
    })();
    const api = newWebSocketRpcSession<WorkspaceSyncApi>(socket, peer);
    client = new SyncClient(api, options);
    await api.hello(peer);
    await client.pull();
    return client;
  }

  /** The revision the replica holds. */
  get cursor(): number {
    return this.#cursor;
  }

  /** Pulls until the replica holds the workspace's latest revision. */
  pull(): Promise<void> {
    if (this.#pulling) {
      this.#again = true;
      return this.#pulling;
    }
    this.#pulling = (async () => {
      try {
        do {
          this.#again = false;
          await this.#pullPages();
        } while (this.#again);
      } finally {
        this.#pulling = undefined;
      }
    })();
    return this.#pulling;
  }

  close(): void {
    this.#api[Symbol.dispose]();
  }

  async #pullPages(): Promise<void> {
    for (;;) {
      const page = await this.#api.pull(this.#cursor, 500);
      if (page.entries.length > 0) await this.#apply(page.entries);
      this.#cursor = page.rev;
      if (page.entries.length > 0) this.#options.onPulled?.(page.rev, page.entries.map((entry) => entry.path));
      if (!page.more) return;
    }
  }

  /** Fetches the chunks the page needs and the replica lacks, then applies the page. */
  async #apply(entries: ChangeEntry[]): Promise<void> {
    const { replica } = this.#options;
    const wanted = replica.missingChunks(entries.flatMap((entry) => (entry.deleted ? [] : entry.chunks ?? [])));
    const upload = replica.openUpload();
    try {
      for (let next = 0; next < wanted.length;) {
        const batch = wanted.slice(next, next + CHUNKS_PER_CALL);
        const received = await this.#api.chunks(batch);
        if (received.length === 0) throw new FsError("EIO", "(sync)", "received no chunks for a request; the server is misbehaving");
        received.forEach((data, i) => {
          if (replica.stageChunk(upload, data) !== batch[i]) throw new FsError("EIO", batch[i]!, "arrived with other content than its hash names");
        });
        this.chunksReceived += received.length;
        next += received.length;
      }
      applyChanges(replica, entries, { record: false });
    } finally {
      replica.closeUpload(upload);
    }
  }
}
