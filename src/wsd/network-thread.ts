import { Worker } from "node:worker_threads";
import type { ExecOutput, ExecRequest, ExecResult } from "../wire/exec.ts";
import type { SyncLink, SyncLinkOptions } from "./sync-link.ts";

/**
 * The sync session on a thread of its own: a worker runs {@link socketLink} (capnweb, the
 * WebSocket, base64 and JSON of every frame) and this thread talks to it in messages, whose
 * chunk bytes are copied, not encoded. A big push or pull then costs the FUSE thread a copy of
 * its bytes, not their encoding: during a 64 MiB push, lookups in the mount wait for the
 * encoding when it shares the thread (bench/README.md). The worker ends with the session.
 */
export function threadLink(options: SyncLinkOptions): SyncLink {
  const worker = new Worker(ENTRY, {
    workerData: { url: options.url, token: options.token } satisfies ThreadData,
    // Its live data is a few MiB (four 1 MiB uploads in flight and their encodings); a bound
    // makes V8 collect the dead ones sooner (measured: 100 MiB pushed, peak RSS growth 80–106
    // MiB without it, 59–74 with it).
    resourceLimits: { maxOldGenerationSizeMb: SYNC_THREAD_HEAP_MB },
  });
  const waiting = new Map<number, { resolve: (value: never) => void; reject: (error: unknown) => void }>();
  let nextId = 0;
  let ended: Error | undefined;
  let onBroken: ((error: unknown) => void) | undefined;
  let brokenError: unknown;

  const post = (message: ToThread) => worker.postMessage(message);
  /** The session is over: every unanswered call fails, and a break is told once (not after close). */
  const end = (error: Error, broken: boolean) => {
    if (ended) return;
    ended = error;
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
    if (broken) {
      brokenError = error;
      onBroken?.(error);
    }
  };
  const call =
    <M extends CallName>(method: M) =>
    (...args: Parameters<SyncLink[M]>) =>
      new Promise<Awaited<ReturnType<SyncLink[M]>>>((resolve, reject) => {
        if (ended) return reject(ended);
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        post({ kind: "call", id, method, args });
      });

  worker.on("message", (message: FromThread) => {
    switch (message.kind) {
      case "answer": {
        const waiter = waiting.get(message.id);
        waiting.delete(message.id);
        if (message.error) waiter?.reject(unpackError(message.error));
        else waiter?.resolve(message.value as never);
        return;
      }
      case "changed":
        return options.peer.changed(message.rev);
      case "kill":
        return options.peer.kill(message.id, message.signal);
      case "exec": {
        const { exec } = message;
        const output = (method: keyof ExecOutput) => async (text?: string) => {
          if (!ended) post({ kind: "output", exec, method, text });
        };
        Promise.resolve()
          .then(() => options.peer.exec(message.request, { started: output("started"), stdout: output("stdout"), stderr: output("stderr") }))
          .then(
            (result) => ended || post({ kind: "result", exec, result }),
            (error: unknown) => ended || post({ kind: "result", exec, error: packError(error) }),
          );
        return;
      }
      case "broken":
        return end(unpackError(message.error), true);
    }
  });
  worker.on("error", (error) => end(error, true));
  worker.on("exit", (code) => end(new Error(`the sync thread ended (exit code ${code})`), true));
  // After the listeners: adding a "message" listener refs the worker's port again.
  if (options.holdsProcess === false) worker.unref();

  return {
    hello: call("hello"),
    pull: call("pull"),
    chunks: call("chunks"),
    missing: call("missing"),
    upload: call("upload"),
    push: call("push"),
    onBroken(callback) {
      onBroken = callback;
      if (brokenError !== undefined) callback(brokenError);
    },
    close() {
      end(new Error("the sync session was closed"), false);
      // The worker closes the session and ends; nothing here waits for it.
      post({ kind: "close" });
      worker.unref();
    },
  };
}

/** The sync thread's old-generation heap bound, well above what it holds at once. */
const SYNC_THREAD_HEAP_MB = 64;

/** The worker's entry, beside this module: `.ts` in a checkout (Node strips the types), `.js` when built. */
const ENTRY = new URL(`./network-thread-entry${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url);

/** What the worker is started with. */
export interface ThreadData {
  url: string;
  token?: string;
}

/** The calls of the object a link makes. */
export type CallName = Exclude<keyof SyncLink, "onBroken" | "close">;

/** This thread to the worker. */
export type ToThread =
  | { kind: "call"; id: number; method: CallName; args: unknown[] }
  /** A running command's output (`exec` is the number the worker gave the command). */
  | { kind: "output"; exec: number; method: keyof ExecOutput; text?: string }
  | { kind: "result"; exec: number; result?: ExecResult; error?: PackedError }
  | { kind: "close" };

/** The worker to this thread. */
export type FromThread =
  | { kind: "answer"; id: number; value?: unknown; error?: PackedError }
  | { kind: "changed"; rev: number }
  | { kind: "exec"; exec: number; request: ExecRequest }
  | { kind: "kill"; id: string; signal?: string }
  | { kind: "broken"; error: PackedError };

/** An error as it crosses threads: what capnweb keeps of one (its class by name, message, own fields). */
export interface PackedError {
  name: string;
  message: string;
  fields: Record<string, string | number | boolean | null>;
}

export function packError(error: unknown): PackedError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error), fields: {} };
  const fields: PackedError["fields"] = {};
  for (const [key, value] of Object.entries(error)) {
    if (value === null || ["string", "number", "boolean"].includes(typeof value)) fields[key] = value as string | number | boolean | null;
  }
  return { name: error.name, message: error.message, fields };
}

const ERROR_CLASSES: Record<string, ErrorConstructor> = { TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };

export function unpackError({ name, message, fields }: PackedError): Error {
  const error = new (ERROR_CLASSES[name] ?? Error)(message);
  return Object.assign(error, fields);
}
