/** Propagation latency both ways (MCP → mount, mount → files route), and the exec tool's cost. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { LATENCY_CHILD, log } from "./options.ts";
import { cleanups, sh, sleep, wall } from "./processes.ts";
import { type Stats, stats } from "./stats.ts";

export interface LatencyVariant {
  id: string;
  label: string;
  /** ms from the start of the change to the moment the other side saw it. */
  e2e: Stats;
  /** The writer's own time: the MCP tool call, or open/write/close in the mount. */
  writer: Stats;
  /** e2e minus the writer's own time: what the sync added after the writer returned. */
  afterWriter: Stats;
  /** Polls per sample (watch in the mount) or GETs per sample (files route). */
  polls: Stats;
  timeouts: number;
  target?: { p50: number; p95: number; met: boolean };
}
export interface LatencyResult {
  variants: LatencyVariant[];
  /** One GET of a small file through the files route (the resolution of mount → MCP samples). */
  getMs: Stats;
  /** `GET /w/<ws>/ping` (a no-op request into the workspace's object): the dev server's own cost, just before. */
  pingMs: Stats;
  pollIntervalMs: number;
  /** The MCP `exec` tool through this wsd, beside a `stat` tool call (the cost of any tool call). */
  exec: { statToolMs: Stats; trueMs: Stats; afterWriteMs: Stats };
}

const POLL_INTERVAL_MS = 1;

export async function measureLatency(
  mcp: Client,
  wsUrl: string,
  mnt: string,
  fileText: (base: string, path: string) => Promise<string | undefined>,
): Promise<LatencyResult> {
  const child = spawn(process.execPath, ["--no-warnings", LATENCY_CHILD], { cwd: "/", stdio: ["pipe", "pipe", "inherit"] });
  cleanups.push(() => void child.kill("SIGKILL"));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const send = (command: object) => child.stdin!.write(`${JSON.stringify(command)}\n`);
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error("the latency child exited");
    return JSON.parse(value as string) as Record<string, number | string>;
  };
  const writeMcp = async (path: string, content: string) => {
    const result = (await mcp.callTool({ name: "write", arguments: { path, content } })) as { isError?: boolean; content: { text?: string }[] };
    if (result.isError) throw new Error(`write ${path}: ${result.content[0]?.text}`);
  };
  await sh(mnt, "mkdir -p lat");

  const variants: LatencyVariant[] = [];
  const getSamples: number[] = [];
  const pingSamples: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await (await fetch(`${wsUrl}/ping`)).arrayBuffer();
    pingSamples.push(performance.now() - t);
  }

  /** MCP → mount: a `write` tool call, seen by the child reading the file in the mount. */
  const down = async (id: string, label: string, n: number, sample: (i: number) => { path: string; content: string }, target: boolean) => {
    const e2e: number[] = [],
      writer: number[] = [],
      after: number[] = [],
      polls: number[] = [];
    let timeouts = 0;
    for (let i = 0; i < n; i++) {
      const { path, content } = sample(i);
      send({ op: "watch", path: join(mnt, path), content, timeoutMs: 5000, intervalMs: POLL_INTERVAL_MS });
      await next(); // ready: the child is polling
      await sleep(20); // a few polls of the old state first
      const t0 = wall();
      await writeMcp(`/${path}`, content);
      const t1 = wall();
      const seen = await next();
      if (typeof seen.seen !== "number") {
        timeouts++;
        continue;
      }
      e2e.push(seen.seen - t0);
      writer.push(t1 - t0);
      after.push(seen.seen - t1);
      polls.push(Number(seen.polls));
      await sleep(50);
    }
    variants.push({
      id,
      label,
      e2e: stats(e2e),
      writer: stats(writer),
      afterWriter: stats(after),
      polls: stats(polls),
      timeouts,
      ...(target ? { target: { p50: 50, p95: 200, met: stats(e2e).p50 < 50 && stats(e2e).p95 < 200 && timeouts === 0 } } : {}),
    });
    log(
      `  ${label}: p50 ${stats(e2e).p50.toFixed(1)} ms, p95 ${stats(e2e).p95.toFixed(1)} ms (tool call p50 ${stats(writer).p50.toFixed(1)} ms)${timeouts ? `, ${timeouts} timeouts` : ""}`,
    );
  };

  /** mount → MCP: the child writes and closes a file in the mount; GET /files polls until it shows. */
  const up = async (id: string, label: string, n: number, sample: (i: number) => { path: string; content: string }) => {
    const e2e: number[] = [],
      writer: number[] = [],
      after: number[] = [],
      polls: number[] = [];
    let timeouts = 0;
    for (let i = 0; i < n; i++) {
      const { path, content } = sample(i);
      send({ op: "write", path: join(mnt, path), content });
      const written = await next();
      const [start, closed] = [Number(written.start), Number(written.closed)];
      let gets = 0;
      let seenAt: number | undefined;
      while (wall() - closed < 5000) {
        const g = performance.now();
        const text = await fileText(wsUrl, path);
        getSamples.push(performance.now() - g);
        gets++;
        if (text === content) {
          seenAt = wall();
          break;
        }
      }
      if (seenAt === undefined) {
        timeouts++;
        continue;
      }
      e2e.push(seenAt - start);
      writer.push(closed - start);
      after.push(seenAt - closed);
      polls.push(gets);
      await sleep(50);
    }
    variants.push({
      id,
      label,
      e2e: stats(e2e),
      writer: stats(writer),
      afterWriter: stats(after),
      polls: stats(polls),
      timeouts,
      target: { p50: 50, p95: 200, met: stats(e2e).p50 < 50 && stats(e2e).p95 < 200 && timeouts === 0 },
    });
    log(
      `  ${label}: p50 ${stats(e2e).p50.toFixed(1)} ms, p95 ${stats(e2e).p95.toFixed(1)} ms (write+close p50 ${stats(writer).p50.toFixed(1)} ms)${timeouts ? `, ${timeouts} timeouts` : ""}`,
    );
  };

  const pad = (i: number) => String(i).padStart(4, "0");
  // Warm: the file exists and the child has read it (its page cache holds the old content).
  await writeMcp("/lat/down.txt", "sample init\n");
  send({ op: "watch", path: join(mnt, "lat/down.txt"), content: "sample init\n", timeoutMs: 5000 });
  await next();
  await next();
  await down("mcp-to-mount-rewrite", "MCP → mount, rewrite (same size)", 30, (i) => ({ path: "lat/down.txt", content: `sample ${pad(i)}\n` }), true);
  await down("mcp-to-mount-new", "MCP → mount, new file", 30, (i) => ({ path: `lat/new-${pad(i)}.txt`, content: `new ${pad(i)}\n` }), true);
  await writeMcp("/lat/grow.txt", "g\n");
  send({ op: "watch", path: join(mnt, "lat/grow.txt"), content: "g\n", timeoutMs: 5000 });
  await next();
  await next();
  await down("mcp-to-mount-grow", "MCP → mount, rewrite (grows)", 10, (i) => ({ path: "lat/grow.txt", content: `${"g".repeat(i + 2)}\n` }), false);
  await sh(mnt, "echo 'up init' > lat/up.txt");
  await up("mount-to-mcp-rewrite", "mount → files route, rewrite", 30, (i) => ({ path: "lat/up.txt", content: `up ${pad(i)}\n` }));
  await up("mount-to-mcp-new", "mount → files route, new file", 30, (i) => ({ path: `lat/up-new-${pad(i)}.txt`, content: `up new ${pad(i)}\n` }));
  child.stdin!.end();
  return { variants, getMs: stats(getSamples), pingMs: stats(pingSamples), pollIntervalMs: POLL_INTERVAL_MS, exec: await measureExec(mcp) };
}

/**
 * exec through MCP: `true` (the round trip to the sandbox and both barriers with nothing to
 * sync), and `cat` of a file an MCP write made just before (the barrier pulls it and outwaits the
 * kernel's attribute cache), each beside a plain `stat` tool call.
 */
async function measureExec(mcp: Client): Promise<LatencyResult["exec"]> {
  const call = async (name: string, args: Record<string, unknown>) => {
    const t = performance.now();
    const result = (await mcp.callTool({ name, arguments: args })) as {
      isError?: boolean;
      content: { text?: string }[];
      structuredContent?: { stdout?: string };
    };
    if (result.isError) throw new Error(`${name}: ${result.content[0]?.text}`);
    return { ms: performance.now() - t, stdout: result.structuredContent?.stdout };
  };
  const statMs: number[] = [],
    trueMs: number[] = [],
    afterWriteMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    statMs.push((await call("stat", { path: "/lat" })).ms);
    trueMs.push((await call("exec", { command: "true" })).ms);
  }
  for (let i = 0; i < 10; i++) {
    const content = `written just before exec ${i}\n`;
    await call("write", { path: `/lat/exec-${i}.txt`, content });
    const { ms, stdout } = await call("exec", { command: `cat lat/exec-${i}.txt` });
    if (stdout !== content) throw new Error(`exec saw ${JSON.stringify(stdout)}, not the write before it`);
    afterWriteMs.push(ms);
  }
  const result = { statToolMs: stats(statMs), trueMs: stats(trueMs), afterWriteMs: stats(afterWriteMs) };
  log(
    `  exec true p50 ${result.trueMs.p50.toFixed(1)} ms (stat tool ${result.statToolMs.p50.toFixed(1)} ms); exec right after a write p50 ${result.afterWriteMs.p50.toFixed(1)} ms`,
  );
  return result;
}
