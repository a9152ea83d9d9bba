/**
 * The sync wire end to end: a real `wrangler dev`, writes through the MCP tools and the files
 * route, and a Node replica pulling over capnweb, live.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectMcp, type DevServer, startDevServer } from "../../harness/dev-server.ts";
import { eventually } from "../../harness/eventually.ts";
import { WorkspaceFs } from "../../src/workspace-do/engine.ts";
import { openNodeSql } from "../../src/workspace-do/sql-node.ts";
import { SyncClient } from "../../src/wsd/sync-client.ts";

const state = mkdtempSync(join(tmpdir(), "sync-test-"));
let server: DevServer;

beforeAll(async () => {
  // History kept for no time: a checkpoint prunes every superseded version, so content can be freed.
  server = await startDevServer({ persistTo: state, vars: { HISTORY_KEEP_HOURS: "0" } });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(state, { recursive: true, force: true });
});

async function tool(mcp: Client, name: string, args: Record<string, unknown>): Promise<void> {
  const result = (await mcp.callTool({ name, arguments: args })) as { isError?: boolean; content: { text?: string }[] };
  if (result.isError) throw new Error(`${name} failed: ${result.content[0]?.text}`);
}

const replica = () => new WorkspaceFs(openNodeSql(":memory:"));
const text = (fs: WorkspaceFs, path: string) => fs.readFile(path, { encoding: "utf8" });

describe("sync over capnweb", () => {
  it("pulls a workspace into a replica on connect", async () => {
    const name = `pull-${Date.now()}`;
    const mcp = await connectMcp(server.url, name);
    await tool(mcp, "write", { path: "/src/app.ts", content: "export const app = 1;\n" });
    await tool(mcp, "mkdir", { path: "/empty/dir" });
    await fetch(`${server.url}/w/${name}/files/data.bin`, { method: "PUT", body: new Uint8Array(600_000).map((_, i) => i % 251) });
    const local = replica();
    const client = await SyncClient.connect({ url: `${server.url}/w/${name}`, replica: local });
    try {
      expect(text(local, "/src/app.ts")).toBe("export const app = 1;\n");
      expect(local.stat("/empty/dir").type).toBe("directory");
      expect(local.readFile("/data.bin")).toEqual(new Uint8Array(600_000).map((_, i) => i % 251));
      expect(client.chunksReceived).toBe(4);
      expect(local.changesSince(0).entries).toEqual([]);
    } finally {
      client.close();
    }
  });

  it("follows writes, edits, moves and deletes live, fetching only new chunks", async () => {
    const name = `live-${Date.now()}`;
    const mcp = await connectMcp(server.url, name);
    await tool(mcp, "write", { path: "/notes.md", content: "# Notes\n" });
    const local = replica();
    const client = await SyncClient.connect({ url: `${server.url}/w/${name}`, replica: local });
    try {
      const before = client.chunksReceived;
      await tool(mcp, "append", { path: "/notes.md", content: "- live\n" });
      await eventually(() => expect(text(local, "/notes.md")).toBe("# Notes\n- live\n"));
      await tool(mcp, "edit", { path: "/notes.md", edits: [{ old_text: "live", new_text: "synced" }] });
      await eventually(() => expect(text(local, "/notes.md")).toBe("# Notes\n- synced\n"));
      await tool(mcp, "move", { from: "/notes.md", to: "/docs/notes.md" });
      await eventually(() => expect(local.exists("/docs/notes.md") && !local.exists("/notes.md")).toBe(true));
      await tool(mcp, "copy", { from: "/docs", to: "/docs-copy" });
      await eventually(() => expect(text(local, "/docs-copy/notes.md")).toBe("# Notes\n- synced\n"));
      // The copy shares its chunk: nothing new crossed the wire for it.
      expect(client.chunksReceived - before).toBe(2);
      await tool(mcp, "delete", { path: "/docs", recursive: true });
      await eventually(() => expect(local.exists("/docs")).toBe(false));
    } finally {
      client.close();
    }
  });

  it("resumes from its cursor without fetching again what it has", async () => {
    const name = `resume-${Date.now()}`;
    const mcp = await connectMcp(server.url, name);
    for (let i = 0; i < 20; i++) await tool(mcp, "write", { path: `/f${i}.txt`, content: `file ${i}\n` });
    const local = replica();
    const first = await SyncClient.connect({ url: `${server.url}/w/${name}`, replica: local });
    expect(first.chunksReceived).toBe(20);
    first.close();
    await tool(mcp, "write", { path: "/f0.txt", content: "changed while away\n" });
    // The replica keeps its cursor in its own database.
    const second = await SyncClient.connect({ url: `${server.url}/w/${name}`, replica: local });
    try {
      expect(second.chunksReceived).toBe(1);
      expect(text(local, "/f0.txt")).toBe("changed while away\n");
      expect(local.readdir("/")).toHaveLength(20);
    } finally {
      second.close();
    }
  });

  it("pushes the replica's own writes, moves and deletes to the object", async () => {
    const name = `push-${Date.now()}`;
    const mcp = await connectMcp(server.url, name);
    await tool(mcp, "write", { path: "/shared.txt", content: "from mcp\n" });
    const local = replica();
    const pulled: string[] = [];
    const client = await SyncClient.connect({ url: `${server.url}/w/${name}`, replica: local, onPulled: (_rev, paths) => pulled.push(...paths) });
    try {
      expect(pulled).toEqual(["/shared.txt"]);
      local.mkdir("/made/here", { recursive: true });
      local.writeFile("/made/here/a.txt", "from the sandbox\n");
      local.writeFile("/shared.txt", "edited in the sandbox\n");
      await client.push();
      expect(client.chunksSent).toBe(2);
      const read = async (path: string) => (await fetch(`${server.url}/w/${name}/files${path}`)).text();
      expect(await read("/made/here/a.txt")).toBe("from the sandbox\n");
      expect(await read("/shared.txt")).toBe("edited in the sandbox\n");
      local.rename("/made", "/moved");
      local.rm("/shared.txt");
      await client.push();
      expect((await fetch(`${server.url}/w/${name}/files/shared.txt`)).status).toBe(404);
      expect(await read("/moved/here/a.txt")).toBe("from the sandbox\n");
      // Its own pushes come back on the next pull, are recognized and not applied again, and nothing goes out again.
      await client.pull();
      expect(client.cursor).toBeGreaterThan(0);
      expect(pulled).toEqual(["/shared.txt"]);
      await client.push();
      expect(client.chunksSent).toBe(2);
      expect(local.readFile("/moved/here/a.txt", { encoding: "utf8" })).toBe("from the sandbox\n");
    } finally {
      client.close();
    }
  });

  it("holds back a file being written, keeps it held across a crash, and sends it first when a pull needs it", async () => {
    const name = `held-${Date.now()}`;
    const read = async (path: string) => {
      const response = await fetch(`${server.url}/w/${name}/files${path}`);
      return response.status === 200 ? response.text() : `status ${response.status}`;
    };
    const file = join(state, `${name}.db`);
    const local = new WorkspaceFs(openNodeSql(file));
    let writing = true;
    const first = await SyncClient.connect({ url: `${server.url}/w/${name}`, replica: local, isHeld: (path) => writing && path === "/log.txt" });
    local.writeFile("/log.txt", "part");
    local.writeFile("/other.txt", "sent");
    await first.push();
    expect(await read("/other.txt")).toBe("sent");
    expect(await read("/log.txt")).toBe("status 404");
    expect(first.holdingBack).toBe(true);
    // A crash: the session and the process go; the replica's database stays.
    first.close();
    const again = new WorkspaceFs(openNodeSql(file));
    const second = await SyncClient.connect({ url: `${server.url}/w/${name}`, replica: again, isHeld: (path) => writing && path === "/log.txt" });
    expect(second.holdingBack).toBe(true);
    again.appendFile("/log.txt", " and more");
    await second.push();
    expect(await read("/log.txt")).toBe("status 404");
    // The object changes the held file: the pull sends the local state first, so it is judged as a conflict, not lost.
    const mcp = await connectMcp(server.url, name);
    await tool(mcp, "write", { path: "/log.txt", content: "from mcp" });
    await eventually(async () => expect(await read("/log.txt")).toBe("from mcp"));
    await eventually(() => expect(second.holdingBack).toBe(false));
    const listing = (await (await fetch(`${server.url}/w/${name}/files/`)).json()) as { entries: { name: string }[] };
    const kept = listing.entries.find((entry) => entry.name.startsWith("log.txt.conflict-"));
    expect(kept && (await read(`/${kept.name}`))).toBe("part and more");
    writing = false;
    second.close();
  });

  it("sends small writes with the push, and asks again when the object freed a chunk it was thought to hold", async () => {
    const name = `direct-${Date.now()}`;
    const mcp = await connectMcp(server.url, name);
    const local = replica();
    const client = await SyncClient.connect({ url: `${server.url}/w/${name}`, replica: local });
    try {
      local.writeFile("/a.txt", "same bytes\n");
      await client.push();
      expect(client.chunksSent).toBe(1);
      // Deleted on the object (through the files route: the delete tool would checkpoint first,
      // which keeps the content), then pruned from its history: its last reference goes.
      await fetch(`${server.url}/w/${name}/files/a.txt`, { method: "DELETE" });
      await new Promise((resolve) => setTimeout(resolve, 20));
      await tool(mcp, "checkpoint", { label: "prunes the history" });
      await client.pull();
      expect(local.exists("/a.txt")).toBe(false);
      // The session still remembers the object holding that content; the push finds it gone and retries asking.
      local.writeFile("/b.txt", "same bytes\n");
      await client.push();
      expect(client.chunksSent).toBe(2);
      expect(await (await fetch(`${server.url}/w/${name}/files/b.txt`)).text()).toBe("same bytes\n");
    } finally {
      client.close();
    }
  });

  it("fails a push whose chunk is missing from the replica instead of retrying forever", async () => {
    const name = `missing-${Date.now()}`;
    const sql = openNodeSql(":memory:");
    const local = new WorkspaceFs(sql);
    const client = await SyncClient.connect({ url: `${server.url}/w/${name}`, replica: local });
    try {
      local.writeFile("/broken.txt", "bytes the replica then loses\n");
      sql.run("DELETE FROM chunks");
      await expect(client.push()).rejects.toThrow(/ESTALE/);
      // Nothing half-applied on the object.
      expect((await fetch(`${server.url}/w/${name}/files/broken.txt`)).status).toBe(404);
    } finally {
      client.close();
    }
  });

  it("pushes a tree larger than a page and megabytes of new chunks in calls kept in flight; a chunk lost mid-upload fails the push whole", async () => {
    const name = `big-push-${Date.now()}`;
    const sql = openNodeSql(":memory:");
    const local = new WorkspaceFs(sql);
    const client = await SyncClient.connect({ url: `${server.url}/w/${name}`, replica: local });
    const read = async (path: string) => new Uint8Array(await (await fetch(`${server.url}/w/${name}/files${path}`)).arrayBuffer());
    try {
      local.mkdir("/many");
      local.batch(() => {
        for (let i = 0; i < 1500; i++) local.writeFile(`/many/f${String(i).padStart(4, "0")}.txt`, `file ${i}\n`);
      });
      const big = randomBytes(12 * 1024 * 1024);
      local.writeFile("/big.bin", big);
      await client.push();
      expect(new TextDecoder().decode(await read("/many/f0000.txt"))).toBe("file 0\n");
      expect(new TextDecoder().decode(await read("/many/f1499.txt"))).toBe("file 1499\n");
      expect(Buffer.from(await read("/big.bin")).equals(Buffer.from(big))).toBe(true);

      // A chunk in the middle of a 6 MiB file leaves the replica: the push fails with ESTALE
      // while earlier upload calls are still answered, and the object gets no part of it.
      local.writeFile("/lost.bin", randomBytes(6 * 1024 * 1024));
      const lost = local.changeOf("/lost.bin");
      const middle = lost.deleted ? undefined : lost.chunks?.[12];
      expect(middle).toBeDefined();
      sql.run("DELETE FROM chunks WHERE hash = ?", middle!);
      await expect(client.push()).rejects.toThrow(/ESTALE/);
      expect((await fetch(`${server.url}/w/${name}/files/lost.bin`)).status).toBe(404);
    } finally {
      client.close();
    }
  });

  it("keeps both versions when a path changed on both sides: the object's wins, the sandbox's is kept beside it", async () => {
    const name = `conflict-${Date.now()}`;
    const mcp = await connectMcp(server.url, name);
    await tool(mcp, "write", { path: "/doc.txt", content: "original\n" });
    const local = replica();
    const conflicts: { path: string; keptAs?: string }[] = [];
    const client = await SyncClient.connect({ url: `${server.url}/w/${name}`, replica: local, onConflict: (found) => conflicts.push(...found) });
    try {
      local.writeFile("/doc.txt", "sandbox version\n");
      await tool(mcp, "write", { path: "/doc.txt", content: "workspace version\n" });
      await client.pull();
      expect(conflicts).toHaveLength(1);
      expect(conflicts[0]!.path).toBe("/doc.txt");
      const keptAs = conflicts[0]!.keptAs!;
      expect(keptAs).toMatch(/^\/doc\.txt\.conflict-wsd-/);
      const read = async (path: string) => (await fetch(`${server.url}/w/${name}/files${path}`)).text();
      expect(await read("/doc.txt")).toBe("workspace version\n");
      expect(await read(keptAs)).toBe("sandbox version\n");
      await eventually(() => expect(local.readFile(keptAs, { encoding: "utf8" })).toBe("sandbox version\n"));
      expect(local.readFile("/doc.txt", { encoding: "utf8" })).toBe("workspace version\n");
      // MCP clients hear of it once: the next tool result carries a notice (a wsd that gave no name goes by its peer id).
      const peer = /\.conflict-(wsd-[^-]+)-/.exec(keptAs)![1];
      const next = (await mcp.callTool({ name: "stat", arguments: { path: "/doc.txt" } })) as { content: { text: string }[] };
      expect(next.content.at(-1)!.text).toBe(
        `Notice: /doc.txt was changed both here and in the sandbox of wsd "${peer}" at once; the workspace's version stays and the sandbox's is kept as ${keptAs}.`,
      );
      const after = (await mcp.callTool({ name: "stat", arguments: { path: "/doc.txt" } })) as { content: { text: string }[] };
      expect(after.content).toHaveLength(1);
    } finally {
      client.close();
    }
  });

  it("keeps workspaces apart and rejects a plain GET of the sync route", async () => {
    const mcp = await connectMcp(server.url, `apart-${Date.now()}`);
    await tool(mcp, "write", { path: "/secret", content: "x" });
    const local = replica();
    const client = await SyncClient.connect({ url: `${server.url}/w/other-${Date.now()}`, replica: local });
    client.close();
    expect(local.readdir("/")).toEqual([]);
    const plain = await fetch(`${server.url}/w/any/wsd`);
    expect(plain.status).toBe(426);
  });
});
