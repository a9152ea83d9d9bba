import { newWebSocketRpcSession, type RpcStub, RpcTarget } from "capnweb";
import type { ExecOutput, ExecRequest, ExecResult } from "../wire/exec.ts";
import { MAX_MESSAGE_BYTES, type PushResult, type WorkspaceSyncApi, type WsdInfo, type WsdPeer } from "../wire/sync.ts";
import type { ChangeEntry, ChangePage, FileType, WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError, isFsError } from "../workspace-do/errors.ts";
import { applyChanges, chunksNamed } from "../workspace-do/sync.ts";

export interface SyncClientOptions {
  /** The workspace's base URL, `http(s)://host/w/<workspace>`. */
  url: string;
  /** Bearer token (the secret, or one scoped to this workspace). */
  token?: string;
  /** The local replica; its cursors (what it pulled, what it pushed) live in its own database. */
  replica: WorkspaceFs;
  /** After each applied page: the new cursor and the paths it changed. */
  onPulled?: (rev: number, paths: string[]) => void;
  /** After each push that found conflicts. */
  onConflict?: (conflicts: PushResult["conflicts"]) => void;
  /** Before a pulled page is applied (the mount lands its buffered writes here). */
  beforeApply?: () => void;
  /** The session broke (the socket closed or failed); reconnect with a new client. */
  onBroken?: (error: unknown) => void;
  /** How this wsd introduces itself. */
  info?: WsdInfo;
  /**
   * True while `path` is being written (its writer is at work): a push leaves the file out and
   * sends it once this answers false, so the workspace gets it whole, in one step.
   */
  isHeld?: (path: string) => boolean;
  /**
   * True for a path kept in the replica only (`type` undefined for one that is gone): pushes
   * leave it out and pulled changes to it are skipped.
   */
  isLocal?: (path: string, type?: FileType) => boolean;
  /** Runs the object's `exec` calls; without it they are refused. */
  commands?: CommandRunner;
  /**
   * The pull on connect applies file entries without fetching their content: the chunks are
   * recorded as absent and {@link SyncClient.fetch} brings them when a file is opened, so a
   * mount of a large workspace is usable at once. Later pulls fetch as usual. Default false.
   */
  contentOnDemand?: boolean;
  /** Files whose content the pull on connect fetches even with `contentOnDemand` (ones wsd reads itself). */
  fetchAlways?: (path: string) => boolean;
  /** False: the open session does not keep the process alive (a Node program using the VFS ends with its work). Default true. */
  holdsProcess?: boolean;
}

/** What serves the object's `exec` and `kill` calls on this session. */
export interface CommandRunner {
  exec(request: ExecRequest, output: RpcStub<ExecOutput>, client: SyncClient): Promise<ExecResult>;
  kill(id: string, signal?: string): void;
}

/** The replica's stable name towards the object, made once and kept in the replica. */
function peerId(replica: WorkspaceFs): string {
  if (replica.cursor("peer-id") === 0) replica.setCursor("peer-id", 1 + Math.floor(Math.random() * 0xffffffffff));
  return `wsd-${replica.cursor("peer-id").toString(36)}`;
}

/** Prefix of the replica cursors that name the files a push held back. */
export const HELD = "held:";
/** Chunks asked for per call; the server also stops at 1 MiB per answer. */
const CHUNKS_PER_CALL = 64;
/** Upload calls (of at most 1 MiB each) sent before the first is answered. */
const UPLOADS_IN_FLIGHT = 4;
/**
 * Entries per push: a page is one transaction in the object, and larger pages cut the round
 * trips of a big tree's push (200 per page drained half as fast).
 */
const PUSH_PAGE_ENTRIES = 1000;
/** Chunk names per push (about 66 bytes each in the message): a page naming more is cut down. */
const PUSH_PAGE_CHUNKS = 50_000;
/**
 * A push whose new chunks hold at most this many bytes sends them with the push, in the same
 * round trip, instead of asking first which the object lacks: sending them costs less than
 * the question. Chunks the object is known to hold are never sent this way.
 */
const DIRECT_UPLOAD_BYTES = 64 * 1024;
/** Times a push reads its page again because a chunk left the replica under it, before it fails. */
const MAX_STALE_RETRIES = 3;
/** How many chunk hashes the client remembers the object holding (sent or pulled). */
const KNOWN_CHUNKS = 20_000;

/**
 * wsd's side of the sync session. It pulls the workspace's change log into the replica (only
 * the chunks it lacks cross the wire) whenever the object says it moved on, and pushes the
 * replica's own changes when asked (on close or fsync). Pulls coalesce, and so do pushes; a
 * pulled page applies whole or not at all. A page that touches a path with local changes not
 * yet pushed waits for a push first, so the object judges the conflict against the revision
 * the replica really had, and a pull never overwrites unpushed work.
 */
export class SyncClient {
  readonly #api: RpcStub<WorkspaceSyncApi>;
  readonly #options: SyncClientOptions;
  readonly #peerId: string;
  #cursor: number;
  #pushed: number;
  readonly #pull = new Coalesced(() => this.#pullPages());
  readonly #push = new Coalesced(() => this.#pushPages());
  /** Chunks the object holds, as far as this session saw: the direct path skips them. */
  readonly #objectHas = new RecentSet(KNOWN_CHUNKS);
  /**
   * Files a push held back (`isHeld`) while the push cursor moved past them, for a later push to
   * send. Each is also a cursor `held:<path>` in the replica, so a crash loses none.
   */
  readonly #heldBack: Set<string>;
  /** Held-back files a pull needs pushed first (their local state decides the conflict): sent even while held. */
  readonly #mustSend = new Set<string>();
  /** Pushes under way that hold nothing back ({@link pushAll}). */
  #sendingAll = 0;
  #closed = false;
  /** True during the pull on connect with `contentOnDemand`. */
  #lazy = false;
  /** Chunks received and sent since connect (tests count them). */
  chunksReceived = 0;
  chunksSent = 0;

  private constructor(api: RpcStub<WorkspaceSyncApi>, options: SyncClientOptions) {
    this.#api = api;
    this.#options = options;
    this.#cursor = options.replica.cursor("pulled");
    this.#pushed = options.replica.cursor("pushed");
    this.#heldBack = new Set(options.replica.cursors(HELD).map(({ name }) => name.slice(HELD.length)));
    this.#peerId = peerId(options.replica);
  }

  /** Opens the session, registers for notifications and pulls until caught up. */
  static async connect(options: SyncClientOptions): Promise<SyncClient> {
    const url = new URL(`${options.url.replace(/\/$/, "")}/wsd`);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const headers = options.token ? { Authorization: `Bearer ${options.token}` } : {};
    // Node's WebSocket (undici) takes headers in its second argument.
    const socket = new (WebSocket as unknown as new (url: string, init: object) => WebSocket)(url.href, { headers });
    const peer = new PeerEndpoint(options.commands);
    const api = newWebSocketRpcSession<WorkspaceSyncApi>(socket, peer);
    const client = new SyncClient(api, options);
    peer.client = client;
    const self = client;
    api.onRpcBroken((error) => self.#closed || options.onBroken?.(error));
    let rev: number;
    try {
      ({ rev } = await api.hello(peer, client.#peerId, options.info));
      if (options.holdsProcess === false) unrefSocket(socket);
    } catch (error) {
      // A session that never opened is a failed connect, not a broken session.
      client.close();
      throw error;
    }
    if (rev < client.#cursor) {
      client.close();
      throw new FsError(
        "ESTALE",
        options.url,
        `is at revision ${rev}, behind the ${client.#cursor} this replica pulled: its storage was reset or replaced; start from an empty replica`,
      );
    }
    client.#lazy = options.contentOnDemand ?? false;
    try {
      await client.pull();
    } finally {
      client.#lazy = false;
    }
    return client;
  }

  /** The object revision the replica holds. */
  get cursor(): number {
    return this.#cursor;
  }

  /** Pulls until the replica holds the workspace's latest revision. */
  pull(): Promise<void> {
    return this.#pull.run();
  }

  /** Sends the replica's own changes to the object (files still being written wait: `isHeld`). */
  push(): Promise<void> {
    return this.#push.run();
  }

  /**
   * Sends every local change, files still open for writing too: for a command that has ended,
   * whose last file may still be open only because the kernel's release comes after the exit.
   */
  async pushAll(): Promise<void> {
    this.#sendingAll++;
    try {
      await this.push();
    } finally {
      this.#sendingAll--;
    }
  }

  /** True while some file was held back from a push and waits for a later one. */
  get holdingBack(): boolean {
    return this.#heldBack.size > 0;
  }

  /** Ends the session (not reported as broken). */
  close(): void {
    this.#closed = true;
    this.#api[Symbol.dispose]();
  }

  async #pullPages(): Promise<void> {
    const { replica } = this.#options;
    for (;;) {
      const page = await this.#api.pull(this.#cursor, 500);
      const entries = page.entries.filter((entry) => !this.#isOwnEcho(entry) && !this.#isLocal(entry));
      if (entries.length > 0) this.#options.beforeApply?.();
      const unpushed = entries.filter((entry) => this.#heldBack.has(entry.path) || replica.lastChange(entry.path).rev > this.#pushed);
      if (unpushed.length > 0) {
        // Local work on these paths goes first (even a file still being written), so the object
        // judges the conflict, and the pull never overwrites it.
        for (const entry of unpushed) this.#mustSend.add(entry.path);
        await this.push();
        continue;
      }
      if (entries.length > 0) await this.#apply(entries);
      this.#cursor = page.rev;
      replica.setCursor("pulled", page.rev);
      if (entries.length > 0)
        this.#options.onPulled?.(
          page.rev,
          entries.map((entry) => entry.path),
        );
      if (!page.more) return;
    }
  }

  /**
   * An entry this replica's own push made, which it already holds: applying it again would only
   * cost time. (A conflict copy the object made from this replica's push is stamped with this
   * replica too, but it is a path the replica lacks, so it is applied.)
   */
  #isOwnEcho(entry: ChangeEntry): boolean {
    return entry.writer === this.#peerId && this.#options.replica.exists(entry.path, { followSymlink: false }) !== entry.deleted;
  }

  async #pushPages(): Promise<void> {
    const { replica } = this.#options;
    // Files held back before and free now (or needed by a pull): their state as it is now.
    const due = () => {
      const entries = [...this.#heldBack].filter((path) => !this.#held(path)).map((path) => replica.changeOf(path));
      // One that became local meanwhile (a new /.wsdignore rule) is not sent at all.
      for (const entry of entries) if (this.#isLocal(entry)) this.#release(entry.path);
      return entries.filter((entry) => !this.#isLocal(entry));
    };
    if (due().length > 0) {
      const sent = await this.#send(due);
      for (const entry of sent) this.#release(entry.path);
    }
    for (;;) {
      let page: ChangePage = { entries: [], rev: this.#pushed, more: false };
      let held: ChangeEntry[] = [];
      // Read again on every try: a retry wants the newer state.
      const sent = await this.#send(() => {
        page = this.#pushPage();
        held = page.entries.filter((entry) => !entry.deleted && entry.stats.type === "file" && this.#held(entry.path));
        return page.entries.filter((entry) => !held.includes(entry) && !this.#isLocal(entry));
      });
      if (page.entries.length === 0) return;
      for (const entry of sent) this.#release(entry.path);
      for (const entry of held) {
        this.#heldBack.add(entry.path);
        replica.setCursor(HELD + entry.path, entry.rev);
      }
      this.#pushed = page.rev;
      replica.setCursor("pushed", page.rev);
      if (!page.more) return;
    }
  }

  /**
   * The next page of local changes to push: up to {@link PUSH_PAGE_ENTRIES} entries, fewer when
   * their chunk lists would make a large message (a 2 GiB file names 8,192 chunks).
   */
  #pushPage(): ChangePage {
    const { replica } = this.#options;
    for (let limit = PUSH_PAGE_ENTRIES; ; limit = Math.floor(limit / 4)) {
      const page = replica.changesSince(this.#pushed, { limit });
      if (limit < 4 || chunksNamed(page.entries).length <= PUSH_PAGE_CHUNKS) return page;
    }
  }

  #isLocal(entry: ChangeEntry): boolean {
    return this.#options.isLocal?.(entry.path, entry.deleted ? undefined : entry.stats.type) ?? false;
  }

  /** Whether a push leaves `path` for later: its writer is at work and no pull needs it. */
  #held(path: string): boolean {
    return this.#sendingAll === 0 && !this.#mustSend.has(path) && (this.#options.isHeld?.(path) ?? false);
  }

  /** `path` reached the object: no longer held back. */
  #release(path: string): void {
    this.#mustSend.delete(path);
    if (this.#heldBack.delete(path)) this.#options.replica.deleteCursor(HELD + path);
  }

  /**
   * Pushes the entries `read` gives, chunks first (with the push when they are few, else asked
   * for and uploaded), and answers what was sent. A file that changed while its chunks went
   * out is read again: `read` gives the newer state.
   */
  async #send(read: () => ChangeEntry[]): Promise<ChangeEntry[]> {
    let probe = false;
    let stale = 0;
    for (;;) {
      const entries = read();
      if (entries.length === 0) return entries;
      const hashes = chunksNamed(entries);
      // The object knows which paths this peer pushed last, so the pull cursor is base enough.
      const changes = entries.map((entry) => ({ entry, base: this.#cursor }));
      let result: PushResult;
      try {
        const direct = probe ? undefined : this.#directUpload(hashes);
        if (direct) {
          // Pipelined: capnweb delivers calls in order, so the upload lands before the push.
          const uploading = direct.length > 0 ? this.#api.upload(direct) : undefined;
          [, result] = await Promise.all([uploading, this.#api.push(changes)]);
          this.chunksSent += direct.length;
        } else {
          await this.#upload(await this.#api.missing(hashes));
          result = await this.#api.push(changes);
        }
      } catch (error) {
        // A few times at most: a chunk that stays missing is a fault to report, not a loop.
        if (isFsError(error, "ESTALE") && ++stale <= MAX_STALE_RETRIES) continue;
        // The object freed a chunk this session thought it held: forget, and ask next time.
        if (!probe && error instanceof Error && /is not stored here/.test(error.message)) {
          this.#objectHas.clear();
          probe = true;
          continue;
        }
        throw error;
      }
      for (const hash of hashes) this.#objectHas.add(hash);
      if (result.conflicts.length > 0) this.#options.onConflict?.(result.conflicts);
      return entries;
    }
  }

  /**
   * The chunks to send with the push when they are few: those the object is not known to hold,
   * if they come to at most {@link DIRECT_UPLOAD_BYTES}; otherwise undefined (ask first).
   */
  #directUpload(hashes: string[]): Uint8Array[] | undefined {
    const { replica } = this.#options;
    const out: Uint8Array[] = [];
    let bytes = 0;
    for (const hash of new Set(hashes)) {
      if (this.#objectHas.has(hash)) continue;
      const data = replica.chunk(hash);
      if (!data) throw new FsError("ESTALE", hash, "left the replica before it was sent; push again");
      bytes += data.byteLength;
      if (bytes > DIRECT_UPLOAD_BYTES) return undefined;
      out.push(data);
    }
    return out;
  }

  /**
   * Fetches the bytes of chunks the replica holds as absent (see `contentOnDemand`), in calls of
   * at most 64 chunks, and stores them.
   */
  async fetch(hashes: string[]): Promise<void> {
    const { replica } = this.#options;
    for (let next = 0; next < hashes.length; ) {
      const batch = hashes.slice(next, next + CHUNKS_PER_CALL);
      const received = await this.#api.chunks(batch);
      if (received.length === 0) throw new FsError("EIO", "(sync)", "received no chunks for a request; the server is misbehaving");
      received.forEach((data, i) => {
        if (replica.fillChunk(data) !== batch[i]) throw new FsError("EIO", batch[i]!, "arrived with other content than its hash names");
      });
      this.chunksReceived += received.length;
      next += received.length;
    }
  }

  /**
   * Sends the object the chunks it lacks, at most 1 MiB per call, with up to
   * {@link UPLOADS_IN_FLIGHT} calls unanswered: capnweb keeps them in order, and a round trip
   * per MiB would otherwise bound a big push.
   */
  async #upload(hashes: string[]): Promise<void> {
    const { replica } = this.#options;
    const pending: Promise<void>[] = [];
    let batch: Uint8Array[] = [];
    let bytes = 0;
    const send = async () => {
      if (batch.length === 0) return;
      const sending = batch;
      batch = [];
      bytes = 0;
      const call = this.#api.upload(sending).then(() => {
        this.chunksSent += sending.length;
      });
      // Awaited below in order; until then a failure must not count as unhandled.
      call.catch(() => {});
      pending.push(call);
      if (pending.length >= UPLOADS_IN_FLIGHT) await pending.shift();
    };
    try {
      for (const hash of hashes) {
        const data = replica.chunk(hash);
        if (!data) throw new FsError("ESTALE", hash, "left the replica before it was sent; push again");
        if (bytes + data.byteLength > MAX_MESSAGE_BYTES) await send();
        batch.push(data);
        bytes += data.byteLength;
      }
      await send();
      await Promise.all(pending);
    } catch (error) {
      // Nothing of this upload is still on its way when the caller retries or reports.
      await Promise.allSettled(pending);
      throw error;
    }
  }

  /** Fetches the chunks the page needs and the replica lacks, then applies the page. */
  async #apply(entries: ChangeEntry[]): Promise<void> {
    const { replica } = this.#options;
    const upload = replica.openUpload();
    try {
      replica.holdChunks(upload, chunksNamed(entries));
      if (this.#lazy) {
        const onDemand = entries.filter((entry) => !this.#options.fetchAlways?.(entry.path));
        replica.holdAbsentChunks(upload, chunkSizes(onDemand, replica.chunkSize));
      }
      const wanted = replica.missingChunks(chunksNamed(entries));
      for (let next = 0; next < wanted.length; ) {
        const batch = wanted.slice(next, next + CHUNKS_PER_CALL);
        const received = await this.#api.chunks(batch);
        if (received.length === 0) throw new FsError("EIO", "(sync)", "received no chunks for a request; the server is misbehaving");
        replica.stageChunks(upload, received).forEach((hash, i) => {
          if (hash !== batch[i]) throw new FsError("EIO", batch[i]!, "arrived with other content than its hash names");
        });
        this.chunksReceived += received.length;
        next += received.length;
      }
      applyChanges(replica, entries, { record: false });
      for (const hash of chunksNamed(entries)) this.#objectHas.add(hash);
    } finally {
      replica.closeUpload(upload);
    }
  }
}

/**
 * What wsd serves the object on its session (the wire's {@link WsdPeer}): news of a new
 * revision, which starts a pull, and the exec calls, run by the mount's commands.
 */
class PeerEndpoint extends RpcTarget implements WsdPeer {
  readonly #commands: CommandRunner | undefined;
  /** The session's client, set once it exists (the object calls only after hello). */
  client: SyncClient | undefined;

  constructor(commands: CommandRunner | undefined) {
    super();
    this.#commands = commands;
  }

  changed(rev: number): void {
    const client = this.client;
    // A pull that fails here is retried by the next notice or the next reconnect; the session's
    // own breakage is reported through onBroken.
    if (client && rev > client.cursor) void client.pull().catch(() => {});
  }

  async exec(request: ExecRequest, output: RpcStub<ExecOutput>): Promise<ExecResult> {
    if (!this.#commands) throw new FsError("EPERM", "(exec)", "is refused: this wsd was started with --no-exec");
    if (!this.client) throw new FsError("EIO", "(exec)", "arrived before the session was open; try again");
    return this.#commands.exec(request, output, this.client);
  }

  kill(id: string, signal?: string): void {
    this.#commands?.kill(id, signal);
  }
}

/**
 * Lets the process end while `socket` is open. Node's WebSocket (undici) offers no `unref`: its
 * TCP socket is on the fetch response it keeps under a private symbol. Where that is not found
 * (another runtime), the session keeps the process alive as before, and only that is lost.
 */
function unrefSocket(socket: WebSocket): void {
  const response = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === "response");
  const tcp = response && (socket as unknown as Record<symbol, { socket?: { unref?: () => void } } | undefined>)[response]?.socket;
  tcp?.unref?.();
}

/** Each chunk the file entries name, with its size: full chunks but the last, which holds the rest. */
function chunkSizes(entries: ChangeEntry[], chunkSize: number): { hash: string; size: number }[] {
  return entries.flatMap((entry) => {
    if (entry.deleted || !entry.chunks) return [];
    const count = entry.chunks.length;
    return entry.chunks.map((hash, i) => ({ hash, size: i < count - 1 ? chunkSize : entry.stats.size - chunkSize * (count - 1) }));
  });
}

/** A set that keeps only its most recently added `capacity` members. */
class RecentSet {
  readonly #capacity: number;
  #members = new Set<string>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  has(member: string): boolean {
    return this.#members.has(member);
  }

  add(member: string): void {
    this.#members.delete(member);
    this.#members.add(member);
    if (this.#members.size > this.#capacity) this.#members.delete(this.#members.values().next().value!);
  }

  clear(): void {
    this.#members.clear();
  }
}

/**
 * Runs `task` once at a time; a call while it runs schedules exactly one more run after it,
 * which happens even if the current run fails (its error then goes to the callers of that run).
 */
class Coalesced {
  readonly #task: () => Promise<void>;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(task: () => Promise<void>) {
    this.#task = task;
  }

  run(): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        for (;;) {
          this.#again = false;
          try {
            await this.#task();
          } catch (error) {
            if (!this.#again) throw error;
          }
          if (!this.#again) return;
        }
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }
}
