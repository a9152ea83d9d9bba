/**
 * The sync session on its own thread (`threadLink`): a real `wrangler dev`, the object's calls
 * made from this thread and carried by the worker, the object's news coming back, errors keeping
 * their message and class, and the session's end by close and by the server going away.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../../harness/dev-server.ts";
import { eventually } from "../../harness/eventually.ts";
import { packError, threadLink, unpackError } from "../../src/wsd/network-thread.ts";
import type { LinkPeer, SyncLink } from "../../src/wsd/sync-link.ts";

const state = mkdtempSync(join(tmpdir(), "network-thread-test-"));
let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ persistTo: state });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(state, { recursive: true, force: true });
});

/** A peer that records the revisions it is told of and refuses commands. */
function recordingPeer(): LinkPeer & { revs: number[] } {
  const revs: number[] = [];
  return {
    revs,
    changed: (rev) => revs.push(rev),
    exec: async () => {
      throw new Error("no commands here");
    },
    kill: () => {},
  };
}

async function open(workspace: string, peer: LinkPeer = recordingPeer(), url = server.url): Promise<SyncLink> {
  const link = threadLink({ url: `${url}/w/${workspace}`, peer });
  await link.hello(`test-${workspace}`);
  return link;
}

describe("threadLink", () => {
  it("carries the object's calls and their bytes through its thread, small and large", async () => {
    const name = `bytes-${Date.now()}`;
    const big = randomBytes(600_000);
    await fetch(`${server.url}/w/${name}/files/big.bin`, { method: "PUT", body: big });
    await fetch(`${server.url}/w/${name}/files/small.txt`, { method: "PUT", body: "a few bytes\n" });
    const link = await open(name);
    try {
      const page = await link.pull(0, 100);
      const chunksOf = (path: string) => {
        const entry = page.entries.find((each) => each.path === path);
        return (entry && !entry.deleted && entry.chunks) || [];
      };
      expect(chunksOf("/big.bin")).toHaveLength(3);
      const bigChunks = await link.chunks(chunksOf("/big.bin"));
      expect(Buffer.concat(bigChunks)).toEqual(big);
      // A small chunk is decoded into a slice of a pooled buffer in the worker: it must still
      // arrive as exactly its own bytes.
      const [small] = await link.chunks(chunksOf("/small.txt"));
      expect(small).toBeInstanceOf(Uint8Array);
      expect(small!.byteLength).toBe(12);
      expect(small!.buffer.byteLength).toBe(12);
      expect(Buffer.from(small!).toString()).toBe("a few bytes\n");
      expect(await link.missing([...chunksOf("/big.bin"), "f".repeat(64)])).toEqual(["f".repeat(64)]);
    } finally {
      link.close();
    }
  });

  it("tells the peer when the workspace moves on", async () => {
    const name = `news-${Date.now()}`;
    const peer = recordingPeer();
    const link = await open(name, peer);
    try {
      await fetch(`${server.url}/w/${name}/files/new.txt`, { method: "PUT", body: "new\n" });
      await eventually(async () => expect(peer.revs).toContain(1), 10_000);
    } finally {
      link.close();
    }
  });

  it("answers an error the object throws with its message", async () => {
    const link = await open(`error-${Date.now()}`);
    try {
      await expect(link.chunks(["0".repeat(64)])).rejects.toThrow(/0{64}/);
    } finally {
      link.close();
    }
  });

  it("close fails the calls still unanswered and every later one, and is not a break", async () => {
    const link = await open(`close-${Date.now()}`);
    const broken: unknown[] = [];
    link.onBroken((error) => broken.push(error));
    const unanswered = link.pull(0);
    link.close();
    await expect(unanswered).rejects.toThrow("the sync session was closed");
    await expect(link.pull(0)).rejects.toThrow("the sync session was closed");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(broken).toEqual([]);
  });

  it("reports a session the server drops as broken, and fails its calls from then on", async () => {
    const own = await startDevServer({ persistTo: join(state, "dropped") });
    const link = await open("dropped", recordingPeer(), own.url);
    const broken: unknown[] = [];
    link.onBroken((error) => broken.push(error));
    await own.stop();
    await eventually(async () => expect(broken).toHaveLength(1), 10_000);
    expect(broken[0]).toBeInstanceOf(Error);
    await expect(link.pull(0)).rejects.toThrow();
    link.close();
  }, 120_000);
});

describe("errors between threads", () => {
  it("keep their class, message and plain fields", () => {
    const original = Object.assign(new TypeError("bad input"), { code: "EINVAL", errno: -22, extra: { nested: true } });
    const again = unpackError(structuredClone(packError(original)));
    expect(again).toBeInstanceOf(TypeError);
    expect(again.message).toBe("bad input");
    expect(again).toMatchObject({ code: "EINVAL", errno: -22 });
    expect(again).not.toHaveProperty("extra");
    expect(unpackError(packError("a thrown string")).message).toBe("a thrown string");
  });
});
