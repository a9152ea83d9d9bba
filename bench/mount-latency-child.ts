/**
 * The sandbox side of bench/mount.bench.ts's propagation-latency samples: a long-running child
 * process (started once, so no sample pays for a process spawn) that reads and writes files in
 * the wsd mount when told to. It is its own process, so it may touch the mount synchronously.
 *
 * Protocol: one JSON object per line on stdin, one per line on stdout. Times are wall-clock ms
 * (`performance.timeOrigin + performance.now()`), comparable across processes on this machine.
 *
 *   {"op":"watch","path":P,"content":C,"timeoutMs":T,"intervalMs":I}
 *       → {"ready":t}                       printed just before polling starts
 *       → {"seen":t,"polls":n}              the first read of P that returned exactly C
 *       | {"timeout":t,"polls":n,"last":S}  (S: what the last read returned, or the error code)
 *     Polls by a full open/read/close of P (readFileSync) every I ms (a synchronous sleep between
 *     reads, so a poll starts at most I ms after the previous one ended).
 *   {"op":"write","path":P,"content":C}
 *       → {"start":t0,"closed":t1}          around writeFileSync (open, write, close: wsd commits on close)
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";

const now = () => performance.timeOrigin + performance.now();
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);
const reply = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`);

interface Command {
  op: "watch" | "write";
  path: string;
  content: string;
  timeoutMs?: number;
  intervalMs?: number;
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const command = JSON.parse(line) as Command;
  if (command.op === "write") {
    const start = now();
    writeFileSync(command.path, command.content);
    reply({ start, closed: now() });
    continue;
  }
  const deadline = now() + (command.timeoutMs ?? 10_000);
  const interval = command.intervalMs ?? 1;
  let polls = 0;
  let last = "";
  reply({ ready: now() });
  for (;;) {
    polls++;
    try {
      last = readFileSync(command.path, "utf8");
      if (last === command.content) {
        reply({ seen: now(), polls });
        break;
      }
    } catch (error) {
      last = (error as NodeJS.ErrnoException).code ?? String(error);
    }
    if (now() > deadline) {
      reply({ timeout: now(), polls, last: last.slice(0, 200) });
      break;
    }
    sleep(interval);
  }
}
