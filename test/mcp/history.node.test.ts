import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, connectMcp, type DevServer, startDevServer } from "../../harness/dev-server.ts";

/**
 * History end to end: a real `wrangler dev`, the MCP client over HTTP, the files route and the
 * history routes. Every writer's change is recorded with its source, and restore and undo bring
 * back byte-identical trees.
 */

const state = mkdtempSync(join(tmpdir(), "history-test-"));
let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ persistTo: state });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(state, { recursive: true, force: true });
});

async function failing(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const result = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: { text?: string }[] };
  expect(result.isError, `${name} should have failed`).toBe(true);
  return result.content.map((part) => part.text ?? "").join("\n");
}

/** Every file under / with its sha-256, through the files route: equal trees give equal maps. */
async function treeHash(base: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const visit = async (dir: string) => {
    const listing = (await (await fetch(`${base}/files${dir}`)).json()) as { entries: { name: string; type: string }[] };
    for (const entry of listing.entries) {
      const path = dir === "/" ? `/${entry.name}` : `${dir}/${entry.name}`;
      if (entry.type === "directory") {
        out[`${path}/`] = "dir";
        await visit(path);
      } else
        out[path] = createHash("sha256")
          .update(new Uint8Array(await (await fetch(`${base}/files${path}`)).arrayBuffer()))
          .digest("hex");
    }
  };
  await visit("/");
  return out;
}

describe("history over MCP and HTTP", () => {
  it("records every writer, diffs, restores a checkpoint byte for byte, and undoes one tool call", async () => {
    const name = `hist-${Date.now()}`;
    const base = `${server.url}/w/${name}`;
    const mcp = await connectMcp(server.url, name);
    try {
      await callTool(mcp, "write", { path: "/src/app.ts", content: "export const answer = 42;\n" });
      await callTool(mcp, "write", { path: "/src/util.ts", content: "export const util = 1;\n" });
      expect((await fetch(`${base}/files/notes.md`, { method: "PUT", body: "# notes\n" })).status).toBe(201);
      const start = await treeHash(base);
      const made = await callTool(mcp, "checkpoint", { label: "clean", description: "before the agent" });
      expect(made).toMatch(/^Checkpoint \d+ "clean" at revision \d+/);

      const edited = await callTool(mcp, "edit", { path: "/src/app.ts", edits: [{ old_text: "42", new_text: "41" }] });
      const call = /call (call-[0-9a-f]{8})/.exec(edited)?.[1];
      expect(call, edited).toBeDefined();
      await callTool(mcp, "delete", { path: "/src", recursive: true });
      await fetch(`${base}/files/notes.md`, { method: "PUT", body: "# notes\nchanged through the files route\n" });

      const history = await callTool(mcp, "history", {});
      expect(history).toMatch(/M \/notes\.md .* files route/);
      expect(history).toMatch(/D \/src\/app\.ts .* mcp delete \(call-/);
      expect(history).toMatch(/M \/src\/app\.ts .* mcp edit \(call-/);
      expect(history).toMatch(/checkpoint:\d+ .* clean — before the agent/);
      // Automatic checkpoints before the edit and the delete.
      expect(history).toMatch(/\(auto\) before edit \/src\/app\.ts/);
      expect(history).toMatch(/\(auto\) before delete \/src/);

      const diff = await callTool(mcp, "diff", { from: "clean" });
      expect(diff).toContain("D /src/app.ts");
      expect(diff).toContain("M /notes.md");
      expect(diff).toContain("+changed through the files route");
      expect(diff).toContain("-export const answer = 42;");

      const dry = await callTool(mcp, "restore", { to: "clean", dry_run: true });
      expect(dry).toMatch(/^Dry run: restoring the workspace to revision \d+ would change 4 paths/);
      expect((await fetch(`${base}/files/src/app.ts`)).status).toBe(404);
      const restored = await callTool(mcp, "restore", { to: "clean" });
      expect(restored).toMatch(/^Restored the workspace to revision \d+: 4 paths changed/);
      expect(await treeHash(base)).toEqual(start);

      // The edit alone, undone by its call id: only /src/app.ts moves, back to before the edit.
      await callTool(mcp, "restore", { to: Number(/Undo with restore \{"to": (\d+)/.exec(restored)![1]) });
      expect((await fetch(`${base}/files/src/app.ts`)).status).toBe(404);
      const undone = failing(mcp, "undo", { call });
      // The delete came after the edit on the same path: undo is refused with the list.
      expect(await undone).toMatch(/ESTALE: \(undo\) is refused: another writer changed this path after call-.*\/src\/app\.ts/);
      await callTool(mcp, "undo", { call, force: true });
      expect(await (await fetch(`${base}/files/src/app.ts`)).text()).toBe("export const answer = 42;\n");
    } finally {
      await mcp.close();
    }
  });

  it("undoes the last tool calls, answers JSON on the history routes, and refuses bad input with a clear error", async () => {
    const name = `hist-rest-${Date.now()}`;
    const base = `${server.url}/w/${name}`;
    const mcp = await connectMcp(server.url, name);
    try {
      await callTool(mcp, "write", { path: "/a.txt", content: "a1\n" });
      const second = await callTool(mcp, "write", { path: "/a.txt", content: "a2\n" });
      expect(second).toMatch(/\[revision \d+ · call call-[0-9a-f]{8} · undo reverts it/);
      await callTool(mcp, "write", { path: "/b.txt", content: "b\n" });
      expect(await callTool(mcp, "undo", { last: 2 })).toMatch(/^Undid call-\w+, call-\w+: 2 paths back as they were/);
      expect(await (await fetch(`${base}/files/a.txt`)).text()).toBe("a1\n");
      expect((await fetch(`${base}/files/b.txt`)).status).toBe(404);

      const checkpoint = await (await fetch(`${base}/checkpoint`, { method: "POST", body: JSON.stringify({ label: "rest" }) })).json();
      expect(checkpoint).toMatchObject({ label: "rest", auto: false });
      const page = (await (await fetch(`${base}/history?path=/a.txt&limit=2`)).json()) as { entries: { rev: number; change: string }[]; next?: number };
      expect(page.entries.map((entry) => entry.change)).toEqual(["changed", "changed"]);
      expect(page.next).toBeDefined();
      const diff = (await (await fetch(`${base}/diff?from=0&to=now`)).json()) as { changes: { path: string; change: string }[] };
      expect(diff.changes).toEqual([expect.objectContaining({ path: "/a.txt", change: "added" })]);
      const dry = await (await fetch(`${base}/restore`, { method: "POST", body: JSON.stringify({ to: 0, dry_run: true }) })).json();
      expect(dry).toMatchObject({ dryRun: true, changes: [{ path: "/a.txt", change: "deleted" }] });

      for (const [response, status, code] of [
        [await fetch(`${base}/restore`, { method: "POST", body: JSON.stringify({ to: "checkpoint:999" }) }), 404, "ENOENT"],
        [await fetch(`${base}/restore`, { method: "POST", body: "not json" }), 400, "EINVAL"],
        [await fetch(`${base}/diff`), 400, "EINVAL"],
        [await fetch(`${base}/history?limit=abc`), 400, "EINVAL"],
        [await fetch(`${base}/restore`), 405, "EINVAL"],
      ] as const) {
        expect(response.status).toBe(status);
        expect(await response.json()).toMatchObject({ error: code });
      }
      expect(await failing(mcp, "restore", { to: 10_000 })).toMatch(/^EINVAL: \(revision 10000\) is not a revision of this workspace/);
      expect(await failing(mcp, "undo", {})).toMatch(/^EINVAL: \(undo\) takes either call/);
      expect(await failing(mcp, "diff", { from: "no such label" })).toMatch(/^ENOENT: \(checkpoint no such label\) does not exist/);
      expect(await (await fetch(`${base}/files/a.txt`)).text()).toBe("a1\n");
    } finally {
      await mcp.close();
    }
  });

  it("forks a workspace at a checkpoint into another that then goes its own way, and refuses a fork into a workspace with files", async () => {
    const name = `fork-src-${Date.now()}`;
    const base = `${server.url}/w/${name}`;
    const mcp = await connectMcp(server.url, name);
    try {
      await callTool(mcp, "write", { path: "/src/main.ts", content: "console.log('v1');\n" });
      await fetch(`${base}/files/assets/logo.bin`, { method: "PUT", body: new Uint8Array(300_000).fill(7) });
      await callTool(mcp, "write", { path: "/copy-of-main.ts", content: "console.log('v1');\n" });
      const start = await treeHash(base);
      await callTool(mcp, "checkpoint", { label: "start" });
      await callTool(mcp, "write", { path: "/src/main.ts", content: "console.log('v2');\n" });

      const forked = await callTool(mcp, "fork", { to: `${name}-a`, at: "start" });
      // Two files share their content: one chunk for both, and the logo's two chunks.
      expect(forked).toMatch(new RegExp(`^Forked revision \\d+ into workspace ${name}-a: 5 paths, 3 chunks \\(`));
      expect(await treeHash(`${server.url}/w/${name}-a`)).toEqual(start);
      const viaRoute = await fetch(`${base}/fork`, { method: "POST", body: JSON.stringify({ to: `${name}-b` }) });
      expect(await viaRoute.json()).toMatchObject({ paths: 5 });
      expect(await (await fetch(`${server.url}/w/${name}-b/files/src/main.ts`)).text()).toBe("console.log('v2');\n");

      // Independent futures.
      const fork = await connectMcp(server.url, `${name}-a`);
      await callTool(fork, "write", { path: "/src/main.ts", content: "console.log('fork');\n" });
      expect(await (await fetch(`${base}/files/src/main.ts`)).text()).toBe("console.log('v2');\n");
      expect(await callTool(fork, "history", {})).toMatch(new RegExp(`checkpoint:\\d+ .* forked from ${name} at revision \\d+`));
      await fork.close();

      expect(await failing(mcp, "fork", { to: `${name}-a` })).toMatch(/^EEXIST: \/ is not empty in the workspace to fork into/);
      expect(await failing(mcp, "fork", { to: name })).toMatch(/^EINVAL: \(workspace .*\) is this workspace/);
      expect(await failing(mcp, "fork", { to: `${name}-c`, at: "no such checkpoint" })).toMatch(/^ENOENT/);
      expect((await fetch(`${server.url}/w/${name}-c/files/`)).ok).toBe(true);
      expect(((await (await fetch(`${server.url}/w/${name}-c/files/`)).json()) as { entries: unknown[] }).entries).toEqual([]);
    } finally {
      await mcp.close();
    }
  });

  it("serves the change feed as pages that resume from a revision without gaps, and live as server-sent events", async () => {
    const name = `feed-${Date.now()}`;
    const base = `${server.url}/w/${name}`;
    const mcp = await connectMcp(server.url, name);
    try {
      await callTool(mcp, "write", { path: "/a.txt", content: "a\n" });
      await fetch(`${base}/files/b.txt`, { method: "PUT", body: "b\n" });
      await callTool(mcp, "move", { from: "/a.txt", to: "/c.txt" });
      type Page = {
        entries: { rev: number; path: string; change: string; size?: number; source?: { kind: string; name?: string } }[];
        rev: number;
        more: boolean;
      };
      const all = (await (await fetch(`${base}/changes?since=0`)).json()) as Page;
      expect(all.entries.map((entry) => [entry.rev, entry.change, entry.path, entry.source?.kind])).toEqual([
        [1, "added", "/a.txt", "mcp"],
        [2, "added", "/b.txt", "files"],
        [3, "deleted", "/a.txt", "mcp"],
        [3, "added", "/c.txt", "mcp"],
      ]);
      expect(all).toMatchObject({ rev: 3, more: false });
      // Pages of one entry never split a revision, and following them gives the same list.
      const paged: Page["entries"] = [];
      for (let since = 0, more = true; more; ) {
        const page = (await (await fetch(`${base}/changes?since=${since}&limit=1`)).json()) as Page;
        paged.push(...page.entries);
        ({ rev: since, more } = page);
      }
      expect(paged).toEqual(all.entries);

      const controller = new AbortController();
      const response = await fetch(`${base}/changes`, { headers: { Accept: "text/event-stream", "Last-Event-ID": "2" }, signal: controller.signal });
      expect(response.headers.get("Content-Type")).toBe("text/event-stream");
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let received = "";
      const until = async (pattern: RegExp) => {
        const deadline = Date.now() + 5000;
        while (!pattern.test(received)) {
          if (Date.now() > deadline) throw new Error(`no ${pattern} in: ${received}`);
          const { value, done } = await reader.read();
          if (done) throw new Error(`the stream ended: ${received}`);
          received += value;
        }
      };
      await until(/"path":"\/c\.txt"/);
      expect(received).not.toContain('"path":"/b.txt"');
      expect(received).toMatch(/^id: 3\nevent: change\ndata: \{"rev":3,/);
      await callTool(mcp, "write", { path: "/live.txt", content: "live\n" });
      await until(/"path":"\/live\.txt"/);
      expect(received).toMatch(/id: 4\nevent: change\ndata: \{"rev":4,"at":\d+,"path":"\/live\.txt","change":"added","type":"file","size":5/);
      controller.abort();

      const bad = await fetch(`${base}/changes?since=99`);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: "EINVAL" });
    } finally {
      await mcp.close();
    }
  });

  it("keeps checkpoints and history across a restart of the server", async () => {
    const name = `hist-restart-${Date.now()}`;
    const persist = mkdtempSync(join(tmpdir(), "history-restart-"));
    let local = await startDevServer({ persistTo: persist });
    try {
      let mcp = await connectMcp(local.url, name);
      await callTool(mcp, "write", { path: "/kept.txt", content: "before\n" });
      await callTool(mcp, "checkpoint", { label: "survives" });
      await callTool(mcp, "write", { path: "/kept.txt", content: "after\n" });
      await mcp.close();
      await local.stop();
      local = await startDevServer({ persistTo: persist });
      mcp = await connectMcp(local.url, name);
      await callTool(mcp, "restore", { to: "survives" });
      expect(await (await fetch(`${local.url}/w/${name}/files/kept.txt`)).text()).toBe("before\n");
      await mcp.close();
    } finally {
      await local.stop();
      rmSync(persist, { recursive: true, force: true });
    }
  }, 120_000);
});
