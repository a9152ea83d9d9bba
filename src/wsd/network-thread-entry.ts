/**
 * The sync thread's worker (started by `threadLink`, ./network-thread.ts): one
 * {@link socketLink} whose calls come from the main thread in messages, in the order they were
 * made (capnweb keeps that order on the wire, so an upload still lands before the push after it).
 * The object's calls to wsd go the other way; a running command's output receiver stays here
 * and the main thread's output reaches it in messages.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { ExecOutput, ExecResult } from "../wire/exec.ts";
import { type FromThread, packError, type ThreadData, type ToThread, unpackError } from "./network-thread.ts";
import { type Calls, socketLink } from "./sync-link.ts";

const port = parentPort!;
const { url, token } = workerData as ThreadData;
const post = (message: FromThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/** Commands the object runs in the mount, by the number given them here. */
const running = new Map<number, { output: Calls<ExecOutput>; done: (result: ExecResult) => void; failed: (error: Error) => void }>();
let nextExec = 0;

const link = socketLink({
  url,
  token,
  peer: {
    changed: (rev) => post({ kind: "changed", rev }),
    kill: (id, signal) => post({ kind: "kill", id, signal }),
    exec: (request, output) =>
      new Promise<ExecResult>((done, failed) => {
        const exec = nextExec++;
        running.set(exec, { output, done, failed });
        post({ kind: "exec", exec, request });
      }),
  },
});
link.onBroken((error) => post({ kind: "broken", error: packError(error) }));

port.on("message", (message: ToThread) => {
  switch (message.kind) {
    case "call": {
      const { id } = message;
      (link[message.method] as (...args: unknown[]) => Promise<unknown>)(...message.args).then(
        (value) => {
          const transfer = ownedBuffers(value);
          post({ kind: "answer", id, value }, transfer);
        },
        (error: unknown) => post({ kind: "answer", id, error: packError(error) }),
      );
      return;
    }
    case "output": {
      // The object may have stopped listening; the command still runs to its end.
      running
        .get(message.exec)
        ?.output[message.method](message.text as string)
        .catch(() => {});
      return;
    }
    case "result": {
      const command = running.get(message.exec);
      running.delete(message.exec);
      if (message.error) command?.failed(unpackError(message.error));
      else command?.done(message.result!);
      return;
    }
    case "close":
      link.close();
      port.close();
      return;
  }
});

/**
 * The buffers of an answer's byte arrays (the chunks of `chunks`), to move rather than copy.
 * Each is first copied out of capnweb's decoding: Node keeps Buffers it may pool
 * untransferable, and posting a view would copy all of its buffer.
 */
function ownedBuffers(value: unknown): ArrayBuffer[] {
  if (!Array.isArray(value)) return [];
  const buffers: ArrayBuffer[] = [];
  value.forEach((item, i) => {
    if (!(item instanceof Uint8Array)) return;
    const own = new Uint8Array(item);
    value[i] = own;
    buffers.push(own.buffer);
  });
  return buffers;
}
