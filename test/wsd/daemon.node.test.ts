/**
 * WsdDaemon driven directly, in this process: a real `wrangler dev`, a real FUSE mount, short
 * intervals. The mount is only ever touched asynchronously here (its callbacks run on this
 * event loop).
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../../harness/dev-server.ts";
import { eventually } from "../../harness/eventually.ts";
import { canMount } from "../../harness/wsd.ts";
import { parseWorkspaceUrl, WsdDaemon, type WsdDaemonOptions } from "../../src/wsd/daemon.ts";
import { PushScheduler } from "../../src/wsd/push-scheduler.ts";
import { readStatuses } from "../../src/wsd/status.ts";

const dir = mkdtempSync(join(tmpdir(), "wsd-daemon-"));
const SHORT = { idleMs: 100, openWritePushMs: 100, backoffFirstMs: 100, backoffMaxMs: 400, lastPushMs: 2000 };
let server: DevServer;
const daemons = new Set<WsdDaemon>();

/** A daemon for `workspace` on the shared server (or the one at `on`), with short intervals, and its log lines. */
function daemon(workspace: string, options: Partial<WsdDaemonOptions> & { on?: string } = {}): [WsdDaemon, string[]] {
  const { on = server.url, ...rest } = options;
  const lines: string[] = [];
  const made = new WsdDaemon({
    url: `${on}/w/${workspace}`,
    mountpoint: join(dir, `mnt-${workspace}`),
    cache: join(dir, `cache-${workspace}`),
    name: `test-${workspace}`,
    timing: SHORT,
    log: (line) => lines.push(line),
    ...rest,
  });
  daemons.add(made);
  return [made, lines];
}

const fileOnServer = async (workspace: string, path: string) => (await fetch(`${server.url}/w/${workspace}/files${path}`)).text();
const isMounted = async (mountpoint: string) => (await readFile("/proc/mounts", "utf8")).includes(` ${mountpoint} `);

describe("parseWorkspaceUrl", () => {
  it("takes http(s)://host/w/<workspace> and refuses anything else with EINVAL", () => {
    expect(parseWorkspaceUrl("http://localhost:8787/w/docs/")).toEqual({ base: "http://localhost:8787/w/docs", name: "docs", host: "localhost:8787" });
    for (const bad of ["localhost:8787/w/docs", "ftp://host/w/docs", "http://host/docs", "http://host/w/a/b", "not a url"]) {
      expect(() => parseWorkspaceUrl(bad), bad).toThrow(/^EINVAL: .* is not a workspace URL/);
    }
  });
});

describe("PushScheduler", () => {
  const timing = { openWritePushMs: 50, backoffFirstMs: 20, backoffMaxMs: 40, pushDelayMs: 10, pushMaxDelayMs: 60 };

  it("retries a failed push with doubling delays until it succeeds, logging each failure", async () => {
    const attempts: number[] = [];
    const lines: string[] = [];
    let pushed = 0;
    const scheduler = new PushScheduler({
      push: async () => {
        attempts.push(Date.now());
        if (attempts.length <= 3) throw new Error("server gone");
      },
      timing,
      log: (line) => lines.push(line),
      onPushed: () => pushed++,
    });
    scheduler.now();
    await eventually(() => expect(pushed).toBe(1));
    expect(attempts).toHaveLength(4);
    expect(lines).toEqual([
      "push failed (server gone); retrying in 0.02 s",
      "push failed (server gone); retrying in 0.04 s",
      "push failed (server gone); retrying in 0.04 s",
    ]);
    expect(scheduler.pending).toBe(false);
  });

  it("gathers a burst of changes into one push once the mount is quiet for pushDelayMs", async () => {
    let pushes = 0;
    const scheduler = new PushScheduler({ push: async () => void pushes++, timing, log: () => {}, onPushed: () => {} });
    for (let i = 0; i < 50; i++) scheduler.changed();
    expect(pushes).toBe(0);
    await eventually(() => expect(pushes).toBe(1));
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(pushes).toBe(1);
    expect(scheduler.pending).toBe(false);
  });

  it("pushes a burst that never goes quiet pushMaxDelayMs after its first change, then again after it", async () => {
    const pushedAt: number[] = [];
    const scheduler = new PushScheduler({ push: async () => void pushedAt.push(Date.now()), timing, log: () => {}, onPushed: () => {} });
    const start = Date.now();
    // A change every 4 ms (never 10 ms quiet) for 150 ms.
    while (Date.now() - start < 150) {
      scheduler.changed();
      await new Promise((resolve) => setTimeout(resolve, 4));
    }
    const burstEnd = Date.now();
    await eventually(() => expect(pushedAt.at(-1)).toBeGreaterThanOrEqual(burstEnd));
    // Pushed during the burst (bounded by pushMaxDelayMs, not held until it ended), and once after it.
    const during = pushedAt.filter((at) => at < burstEnd);
    expect(during.length).toBeGreaterThanOrEqual(1);
    expect(pushedAt.filter((at) => at >= burstEnd)).toHaveLength(1);
    expect(scheduler.pending).toBe(false);
  });

  it("pushes again openWritePushMs after a push that held a file back, until nothing is held, and stop cancels what waits", async () => {
    let pushes = 0;
    let holding = true;
    const scheduler = new PushScheduler({ push: async () => void pushes++, timing, log: () => {}, onPushed: () => {}, holdingBack: () => holding });
    scheduler.now();
    expect(pushes).toBe(1);
    await eventually(() => expect(pushes).toBe(2)); // the late push for what was held back
    holding = false;
    await eventually(() => expect(pushes).toBe(3));
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(pushes).toBe(3); // nothing held: no more
    expect(scheduler.pending).toBe(false);
    holding = true;
    scheduler.now();
    await eventually(() => expect(scheduler.pending).toBe(true));
    scheduler.stop();
    expect(scheduler.pending).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(pushes).toBe(4);
  });
});

describe.skipIf(!canMount)("WsdDaemon", () => {
  beforeAll(async () => {
    server = await startDevServer({ persistTo: join(dir, "state") });
  }, 120_000);

  afterAll(async () => {
    for (const each of daemons) await each.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("start connects, pulls and mounts with a status file; a change in the mount reaches the workspace; stop unmounts and clears every timer", async () => {
    await fetch(`${server.url}/w/basic/files/seed.txt`, { method: "PUT", body: "from the server\n" });
    const [wsd] = daemon("basic");
    await wsd.start();
    expect(wsd.connected).toBe(true);
    expect(wsd.mountpoint).toBe(join(dir, "mnt-basic"));
    expect(await readFile(join(dir, "mnt-basic/seed.txt"), "utf8")).toBe("from the server\n");
    expect(readStatuses().map((status) => status.mountpoint)).toContain(join(dir, "mnt-basic"));

    await writeFile(join(dir, "mnt-basic/local.txt"), "from the mount\n");
    await eventually(async () => expect(await fileOnServer("basic", "/local.txt")).toBe("from the mount\n"));

    await writeFile(join(dir, "mnt-basic/late.txt"), "written just before stop\n");
    await wsd.stop();
    expect(await isMounted(join(dir, "mnt-basic"))).toBe(false);
    expect(wsd.timersPending).toBe(false);
    expect(wsd.connected).toBe(false);
    expect(readStatuses().map((status) => status.mountpoint)).not.toContain(join(dir, "mnt-basic"));
    expect(await fileOnServer("basic", "/late.txt")).toBe("written just before stop\n");
  });

  it("housekeeping after the quiet period deletes the content an overwrite left behind", async () => {
    const [wsd] = daemon("garbage");
    await wsd.start();
    await writeFile(join(dir, "mnt-garbage/big.bin"), Buffer.alloc(1024 * 1024, 1));
    await writeFile(join(dir, "mnt-garbage/big.bin"), Buffer.alloc(1024 * 1024, 2));
    await eventually(async () => expect((await fetch(`${server.url}/w/garbage/files/big.bin`)).headers.get("Content-Length")).toBe(String(1024 * 1024)));
    await eventually(() => expect(wsd.replica.garbageBytes).toBe(0));
    await wsd.stop();
    // The replica is the daemon's alone while it runs; read once it has stopped.
    const replica = new DatabaseSync(join(dir, "cache-garbage/replica.db"), { readOnly: true });
    expect((replica.prepare("SELECT count(*) AS n FROM chunk_refs WHERE refs = 0").get() as { n: number }).n).toBe(0);
    replica.close();
  });

  it("refuses a second daemon on a cache in use, with its own exit reason", async () => {
    const [first] = daemon("shared-cache");
    await first.start();
    expect(() => daemon("shared-cache", { mountpoint: join(dir, "mnt-shared-cache-2") })).toThrow(
      expect.objectContaining({
        reason: "busy",
        message: `the cache ${join(dir, "cache-shared-cache")} is in use by another wsd; give each mount its own --cache`,
      }),
    );
    await first.stop();
  });

  it("mounts without fetching content: a file's chunks come when it is first opened, for reading or writing; --prefetch fetches all", async () => {
    const big = new Uint8Array(600_000).map((_, i) => (i * 7) % 251);
    await fetch(`${server.url}/w/on-demand/files/big.bin`, { method: "PUT", body: big });
    await fetch(`${server.url}/w/on-demand/files/notes.txt`, { method: "PUT", body: "first line\n" });
    const [wsd, lines] = daemon("on-demand");
    await wsd.start();
    expect(lines).toContainEqual(expect.stringMatching(/^connected to .* \(0 chunks fetched, 0 sent\)$/));
    expect(wsd.replica.absentChunksOf("/big.bin")).toHaveLength(3);
    expect(wsd.replica.stat("/big.bin").size).toBe(600_000);
    expect(new Uint8Array(await readFile(join(dir, "mnt-on-demand/big.bin")))).toEqual(big);
    expect(wsd.replica.absentChunksOf("/big.bin")).toEqual([]);
    // Appending opens for writing: the old content is fetched first, and the push carries both.
    await appendFile(join(dir, "mnt-on-demand/notes.txt"), "second line\n");
    await eventually(async () => expect(await fileOnServer("on-demand", "/notes.txt")).toBe("first line\nsecond line\n"));
    await wsd.stop();

    const [full, fullLines] = daemon("on-demand", {
      cache: join(dir, "cache-on-demand-prefetch"),
      mountpoint: join(dir, "mnt-on-demand-prefetch"),
      prefetch: true,
    });
    await full.start();
    expect(fullLines).toContainEqual(expect.stringMatching(/^connected to .* \(4 chunks fetched, 0 sent\)$/));
    expect(full.replica.absentChunksOf("/big.bin")).toEqual([]);
    await full.stop();
  });

  it("--cache-max drops content the workspace holds once quiet, never an open file's or an unpushed change's, and fetches it again on open", async () => {
    const [wsd] = daemon("cache-max", { cacheMaxBytes: 1024 * 1024, prefetch: true });
    await wsd.start();
    const mnt = join(dir, "mnt-cache-max");
    const contents = [1, 2, 3, 4].map((n) => new Uint8Array(1024 * 1024).map((_, i) => (i * n) % 251));
    for (const [i, content] of contents.entries()) await writeFile(join(mnt, `f${i}.bin`), content);
    await eventually(async () =>
      expect((await fetch(`${server.url}/w/cache-max/files/f3.bin`, { method: "HEAD" })).headers.get("Content-Length")).toBe(String(1024 * 1024)),
    );
    // Quiet: housekeeping brings the content kept under 1 MiB; the tree stays whole.
    await eventually(() => expect(wsd.replica.contentBytes()).toBeLessThanOrEqual(1024 * 1024));
    expect([0, 1, 2, 3].map((i) => wsd.replica.stat(`/f${i}.bin`).size)).toEqual(Array(4).fill(1024 * 1024));
    expect([0, 1, 2, 3].some((i) => wsd.replica.absentChunksOf(`/f${i}.bin`).length > 0)).toBe(true);
    // Every file reads back whole: what was dropped is fetched again on open.
    for (const [i, content] of contents.entries()) expect(new Uint8Array(await readFile(join(mnt, `f${i}.bin`)))).toEqual(content);
    await wsd.stop();
  });

  it("keeps serving through a server restart, reconnects with backoff, and pushes what was written meanwhile", async () => {
    const persistTo = join(dir, "restart-state");
    let own = await startDevServer({ persistTo });
    const port = Number(new URL(own.url).port);
    // A file the mount has not opened yet: its content is not in the replica.
    await fetch(`${own.url}/w/restart/files/unopened.txt`, { method: "PUT", body: "fetched on first open\n" });
    const [wsd, lines] = daemon("restart", { on: own.url });
    await wsd.start();
    await own.stop();
    await eventually(() => expect(wsd.connected).toBe(false));
    await writeFile(join(dir, "mnt-restart/offline.txt"), "written while the server was down\n");
    // Opening it now cannot fetch it: EIO, and the mount keeps serving.
    await expect(readFile(join(dir, "mnt-restart/unopened.txt"), "utf8")).rejects.toMatchObject({ code: "EIO" });
    await eventually(() => expect(lines.some((line) => /^cannot reach .* retrying in/.test(line))).toBe(true));

    own = await startDevServer({ persistTo, port });
    try {
      await eventually(() => expect(wsd.connected).toBe(true), 30_000);
      await eventually(async () => expect(await (await fetch(`${own.url}/w/restart/files/offline.txt`)).text()).toBe("written while the server was down\n"));
      expect(lines).toContainEqual(expect.stringMatching(/^disconnected: .*reconnecting$/));
      expect(lines.filter((line) => /^(connected to|resumed) /.test(line))).toHaveLength(2);
      expect(await readFile(join(dir, "mnt-restart/unopened.txt"), "utf8")).toBe("fetched on first open\n");
    } finally {
      await wsd.stop();
      await own.stop();
    }
    expect(wsd.timersPending).toBe(false);
  }, 120_000);

  it("a workspace reset under a live mount stops the daemon with its replica kept, instead of retrying forever", async () => {
    const persistTo = join(dir, "live-reset-state");
    let own = await startDevServer({ persistTo });
    const port = Number(new URL(own.url).port);
    const [wsd, lines] = daemon("live-reset", { on: own.url });
    await wsd.start();
    await writeFile(join(dir, "mnt-live-reset/a.txt"), "before the reset\n");
    await eventually(async () => expect(await (await fetch(`${own.url}/w/live-reset/files/a.txt`)).text()).toBe("before the reset\n"));
    await own.stop();
    rmSync(persistTo, { recursive: true, force: true });
    own = await startDevServer({ persistTo, port });
    try {
      const summary = await wsd.ended;
      expect(summary.kept).toBe(0);
      expect(lines).toContainEqual(expect.stringMatching(/ESTALE: .* its storage was reset or replaced.*; stopping, with this replica's changes kept in/));
      expect(await isMounted(join(dir, "mnt-live-reset"))).toBe(false);
      expect(wsd.timersPending).toBe(false);
    } finally {
      await own.stop();
    }
  }, 120_000);

  it("a workspace that was reset keeps the old replica aside and starts from an empty one", async () => {
    const persistTo = join(dir, "reset-state");
    let own = await startDevServer({ persistTo });
    const cache = join(dir, "cache-reset");
    const [first] = daemon("reset", { on: own.url });
    await first.start();
    await writeFile(join(dir, "mnt-reset/a.txt"), "before the reset\n");
    await eventually(async () => expect(await (await fetch(`${own.url}/w/reset/files/a.txt`)).text()).toBe("before the reset\n"));
    await first.stop();
    await own.stop();
    rmSync(persistTo, { recursive: true, force: true });

    own = await startDevServer({ persistTo });
    const [second, lines] = daemon("reset", { on: own.url });
    try {
      await second.start();
      expect(lines).toContainEqual(expect.stringMatching(/ESTALE: .* its storage was reset or replaced.*the old replica is kept as .*replica\.db\.orphaned-/));
      expect(readdirSync(cache).some((name) => name.startsWith("replica.db.orphaned-"))).toBe(true);
      expect(second.revision).toBe(0);
      await expect(readFile(join(dir, "mnt-reset/a.txt"))).rejects.toMatchObject({ code: "ENOENT" });
    } finally {
      await second.stop();
      await own.stop();
    }
  }, 120_000);
});
