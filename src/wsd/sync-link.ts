import { newWebSocketRpcSession, type RpcStub, RpcTarget } from "capnweb";
import type { ExecOutput, ExecRequest, ExecResult } from "../wire/exec.ts";
import type { WorkspaceSyncApi, WsdInfo, WsdPeer } from "../wire/sync.ts";

/** Each call of `T`, answering a promise of its plain result. */
export type Calls<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never };

/**
 * One sync session with a workspace's object, as {@link SyncClient} uses it: the object's calls
 * (`hello` registers the link's peer, so it takes only the peer's name), news that the session
 * broke, and its end. Two links carry it: {@link socketLink} on this thread, and
 * `threadLink` (./network-thread.ts), the same socket link on a thread of its own.
 */
export interface SyncLink extends Omit<Calls<WorkspaceSyncApi>, "hello"> {
  hello(peerId: string, info?: WsdInfo): Promise<{ rev: number; chunkSize: number }>;
  /** `callback` runs once if the session breaks (the socket closed or failed); not after {@link close}. */
  onBroken(callback: (error: unknown) => void): void;
  /** Ends the session; calls still unanswered fail. */
  close(): void;
}

/**
 * What serves the object's calls on a session (the wire's {@link WsdPeer}, as this side sees it:
 * the running command's output is a receiver whose calls answer promises).
 */
export interface LinkPeer {
  changed(rev: number): void;
  exec(request: ExecRequest, output: Calls<ExecOutput>): Promise<ExecResult>;
  kill(id: string, signal?: string): void;
}

/** Where a link connects and whom it serves the object's calls to. */
export interface SyncLinkOptions {
  /** The workspace's base URL, `http(s)://host/w/<workspace>`. */
  url: string;
  /** Bearer token (the secret, or one scoped to this workspace). */
  token?: string;
  /** Receives the object's calls on this session. */
  peer: LinkPeer;
  /** False: the open session does not keep the process alive. Default true. */
  holdsProcess?: boolean;
}

/** The session as a capnweb WebSocket session on this thread. */
export function socketLink(options: SyncLinkOptions): SyncLink {
  const url = new URL(`${options.url.replace(/\/$/, "")}/wsd`);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const headers = options.token ? { Authorization: `Bearer ${options.token}` } : {};
  // Node's WebSocket (undici) takes headers in its second argument.
  const socket = new (WebSocket as unknown as new (url: string, init: object) => WebSocket)(url.href, { headers });
  const peer = new PeerTarget(options.peer);
  const api: RpcStub<WorkspaceSyncApi> = newWebSocketRpcSession<WorkspaceSyncApi>(socket, peer);
  let closed = false;
  return {
    async hello(peerId, info) {
      const answer = await api.hello(peer, peerId, info);
      if (options.holdsProcess === false) unrefSocket(socket);
      return answer;
    },
    pull: async (since, limit) => await api.pull(since, limit),
    chunks: async (hashes) => await api.chunks(hashes),
    missing: async (hashes) => await api.missing(hashes),
    upload: async (chunks) => await api.upload(chunks),
    push: async (changes) => await api.push(changes),
    onBroken: (callback) => api.onRpcBroken((error) => closed || callback(error)),
    close() {
      closed = true;
      api[Symbol.dispose]();
    },
  };
}

/** A {@link LinkPeer} as capnweb passes it by reference. */
class PeerTarget extends RpcTarget implements WsdPeer {
  readonly #peer: LinkPeer;

  constructor(peer: LinkPeer) {
    super();
    this.#peer = peer;
  }

  changed(rev: number): void {
    this.#peer.changed(rev);
  }

  exec(request: ExecRequest, output: ExecOutput): Promise<ExecResult> {
    // capnweb hands in a stub, whose calls answer promises.
    return this.#peer.exec(request, output as unknown as Calls<ExecOutput>);
  }

  kill(id: string, signal?: string): void {
    this.#peer.kill(id, signal);
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
