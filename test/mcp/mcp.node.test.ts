import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectMcp, type DevServer, startDevServer } from "../../harness/dev-server.ts";
import { scopedToken } from "../../src/agent/scoped-token.ts";

/**
 * The MCP server end to end: a real `wrangler dev` (workerd, local SQLite state), the official
 * MCP SDK client over streamable HTTP, every tool and its error paths.
 */

interface Called {
  text: string;
  isError: boolean;
  content: { type: string; text?: string; data?: string; mimeType?: string }[];
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<Called> {
  const result = (await client.callTool({ name, arguments: args })) as { content: Called["content"]; isError?: boolean };
  return {
    text: result.content
      .filter((part) => part.type === "text")
      .map((part) => part.text)
      .join("\n"),
    isError: result.isError === true,
    content: result.content,
  };
}

/** The text of a call that succeeded, without the revision note a changing call ends with (history tests check it). */
async function ok(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const result = await call(client, name, args);
  expect(result.isError, `${name} failed: ${result.text}`).toBe(false);
  return result.text.replace(/\n\[revision \d+ · call call-[0-9a-f]{8} · undo reverts it: undo \{"call": "call-[0-9a-f]{8}"\}\]$/, "");
}

async function fails(client: Client, name: string, args: Record<string, unknown>, message: RegExp): Promise<string> {
  const result = await call(client, name, args);
  expect(result.isError, `${name} should have failed, got: ${result.text}`).toBe(true);
  expect(result.text).toMatch(message);
  return result.text;
}

const state = mkdtempSync(join(tmpdir(), "mcp-test-"));
let server: DevServer;
let client: Client;
let workspaces = 0;
const workspaceNames = new WeakMap<Client, string>();
/** A fresh workspace per test, so tests do not see each other's files. */
async function fresh(): Promise<Client> {
  const name = `t${workspaces++}-${Date.now()}`;
  const mcp = await connectMcp(server.url, name);
  workspaceNames.set(mcp, name);
  return mcp;
}
/** The workspace a client was connected to (tests put raw files beside it). */
const workspaceOf = async (mcp: Client) => workspaceNames.get(mcp)!;

beforeAll(async () => {
  server = await startDevServer({ persistTo: join(state, "main") });
  client = await fresh();
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(state, { recursive: true, force: true });
});

describe("MCP tools", () => {
  it("lists every tool with a schema and annotations", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      "append",
      "checkpoint",
      "copy",
      "delete",
      "diff",
      "edit",
      "exec",
      "exec_kill",
      "exec_status",
      "find",
      "fork",
      "grep",
      "history",
      "ls",
      "mkdir",
      "move",
      "read",
      "read_many",
      "restore",
      "show_workspace",
      "stat",
      "tree",
      "undo",
      "write",
    ]);
    const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));
    expect(byName.read!.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(byName.delete!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(byName.mkdir!.annotations).toMatchObject({ idempotentHint: true });
    expect(byName.history!.annotations).toMatchObject({ readOnlyHint: true });
    // What a run printed is the command's: exec_status needs exec's access, not read access.
    expect(byName.exec_status!.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: true });
    expect(byName.restore!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(byName.edit!.inputSchema.required).toEqual(["path", "edits"]);
    expect(byName.grep!.inputSchema.properties).toHaveProperty("output_mode");
    // Listed even with no wsd attached: clients cache tool lists.
    expect(byName.exec!.inputSchema.required).toEqual(["command"]);
    expect(Object.keys(byName.exec!.inputSchema.properties!)).toEqual(["command", "cwd", "timeout_ms", "stdin", "env", "wsd", "sandbox", "background"]);
  });

  it("rejects exec arguments that are not valid, before anything runs", async () => {
    const mcp = await fresh();
    const result = (await mcp.callTool({ name: "exec", arguments: { command: "true", env: { "BAD NAME": "x" } } })) as {
      isError?: boolean;
      content: { text: string }[];
    };
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toMatch(/env/);
  });

  it("runs a command in the workspace's own shell when no sandbox is attached, as one undoable revision", async () => {
    const mcp = await fresh();
    await ok(mcp, "write", { path: "/names.txt", content: "carol\nalice\nbob\n" });
    await ok(mcp, "write", { path: "/src/a.ts", content: "const foo = 1; // TODO\n" });
    const result = (await mcp.callTool({
      name: "exec",
      arguments: { command: "sort names.txt > sorted.txt && sed -i 's/foo/bar/' src/a.ts && grep -rn TODO src" },
    })) as unknown as {
      content: { text: string }[];
      structuredContent: { exitCode: number; stdout: string; sandbox: string; id: string; changes: unknown[] };
    };
    expect(result.structuredContent).toMatchObject({ exitCode: 0, stdout: "src/a.ts:1:const bar = 1; // TODO\n", sandbox: "none" });
    expect(result.structuredContent.changes).toEqual([
      { path: "/sorted.txt", change: "created" },
      { path: "/src/a.ts", change: "modified" },
    ]);
    expect(result.content[0]!.text).toMatch(/^exit code 0 · \d+ ms · no sandbox: the workspace's own shell · exec-[0-9a-f]{8}/);
    expect(await ok(mcp, "read", { path: "/sorted.txt" })).toBe("     1\talice\n     2\tbob\n     3\tcarol");
    const missing = (await mcp.callTool({ name: "exec", arguments: { command: "git status" } })) as unknown as {
      structuredContent: { exitCode: number; stderr: string };
    };
    expect(missing.structuredContent).toMatchObject({ exitCode: 127, stderr: expect.stringContaining("git: not available without a sandbox; attach a wsd") });
    await ok(mcp, "undo", { call: result.structuredContent.id });
    expect(await ok(mcp, "read", { path: "/src/a.ts" })).toBe("     1\tconst foo = 1; // TODO");
  });

  it("runs the workspace's own shell in the background too, followed and killed by id", async () => {
    const mcp = await fresh();
    await mcp.listTools(); // arms the SDK client's output-schema checks
    const id = async (command: string) => {
      const started = (await mcp.callTool({ name: "exec", arguments: { command, background: true } })) as unknown as { structuredContent: { id: string } };
      return started.structuredContent.id;
    };
    const done = await id("sleep 0.3; echo done > bg.txt; echo finished");
    const status = (await mcp.callTool({ name: "exec_status", arguments: { id: done, wait_ms: 20_000 } })) as unknown as {
      structuredContent: { runs: { status: string; result: { exitCode: number; stdout: string; sandbox: string; changes: unknown[] } }[] };
    };
    expect(status.structuredContent.runs[0]).toMatchObject({
      status: "ended",
      result: { exitCode: 0, stdout: "finished\n", sandbox: "none", changes: [{ path: "/bg.txt", change: "created" }] },
    });
    const slow = await id("sleep 60");
    expect(await ok(mcp, "exec_kill", { id: slow })).toMatch(new RegExp(`^${slow} has ended:[^]*killed by SIGTERM[^]*no sandbox: the workspace's own shell`));
    expect(await ok(mcp, "exec_status", {})).toMatch(new RegExp(`${slow} · killed by SIGTERM after [\\d.]+ m?s · the workspace's own shell · sleep 60`));
  });

  it("writes a file with its parents and reads it back with line numbers", async () => {
    const mcp = await fresh();
    expect(await ok(mcp, "write", { path: "/src/app.ts", content: "one\ntwo\nthree\n" })).toBe("Wrote 14 bytes to /src/app.ts (new file)");
    expect(await ok(mcp, "read", { path: "src/app.ts" })).toBe("     1\tone\n     2\ttwo\n     3\tthree");
    expect(await ok(mcp, "write", { path: "/src/app.ts", content: "x" })).toBe("Wrote 1 byte to /src/app.ts (replaced 14 bytes)");
  });

  it("pages a long file with offset and limit and says how to continue", async () => {
    const mcp = await fresh();
    await ok(mcp, "write", { path: "/long.txt", content: Array.from({ length: 2500 }, (_, i) => `line ${i + 1}`).join("\n") });
    const first = await ok(mcp, "read", { path: "/long.txt" });
    expect(first.split("\n")).toHaveLength(2001);
    expect(first).toMatch(/call read with offset=2001 to continue/);
    const page = await ok(mcp, "read", { path: "/long.txt", offset: 2499, limit: 5 });
    expect(page).toBe("  2499\tline 2499\n  2500\tline 2500");
    await fails(mcp, "read", { path: "/long.txt", offset: 3000 }, /^EINVAL: \/long.txt has only 2500 lines; offset 3000 is past the end/);
  });

  it("reads images as image content and describes other binary files", async () => {
    const mcp = await fresh();
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82]);
    await fetch(`${server.url}/w/${await workspaceOf(mcp)}/files/img/dot.png`, { method: "PUT", body: png });
    const image = await call(mcp, "read", { path: "/img/dot.png" });
    expect(image.content).toEqual([{ type: "image", mimeType: "image/png", data: Buffer.from(png).toString("base64") }]);
    await fetch(`${server.url}/w/${await workspaceOf(mcp)}/files/blob.bin`, { method: "PUT", body: Uint8Array.from([1, 0, 2, 3]) });
    expect(await ok(mcp, "read", { path: "/blob.bin" })).toMatch(/^\/blob.bin is a binary file of 4 B; read shows text only/);
  });

  it("fails clearly on a missing file, suggesting a near name, and on a directory", async () => {
    const mcp = await fresh();
    await ok(mcp, "write", { path: "/src/app.ts", content: "x" });
    await fails(mcp, "read", { path: "/src/ap.ts" }, /^ENOENT: \/src\/ap.ts does not exist \(did you mean \/src\/app.ts\?\)$/);
    await fails(mcp, "read", { path: "/src" }, /^EISDIR: \/src is a directory; use ls or tree/);
    await fails(mcp, "read", { path: "/nowhere/at/all.txt" }, /^ENOENT/);
  });

  it("reads many files, reporting a failure in place without stopping the others", async () => {
    const mcp = await fresh();
    await ok(mcp, "write", { path: "/a", content: "A" });
    await ok(mcp, "write", { path: "/b", content: "B" });
    const result = await call(mcp, "read_many", { paths: ["/a", "/missing", "/b"] });
    expect(result.isError).toBe(false);
    expect(result.text).toBe("==> /a <==\n     1\tA\n==> /missing <==\nENOENT: /missing does not exist\n==> /b <==\n     1\tB");
    expect((await call(mcp, "read_many", { paths: ["/x", "/y"] })).isError).toBe(true);
  });

  it("appends, creating the file", async () => {
    const mcp = await fresh();
    await ok(mcp, "append", { path: "/log/today.txt", content: "first\n" });
    expect(await ok(mcp, "append", { path: "/log/today.txt", content: "second\n" })).toBe("Appended to /log/today.txt; it now has 13 bytes");
    expect(await ok(mcp, "read", { path: "/log/today.txt" })).toBe("     1\tfirst\n     2\tsecond");
  });

  it("edits atomically with a diff, and refuses ambiguous or missing text", async () => {
    const mcp = await fresh();
    await ok(mcp, "write", { path: "/e.ts", content: "const a = 1;\nconst b = 2;\nconst a2 = 1;\n" });
    const edited = await ok(mcp, "edit", { path: "/e.ts", edits: [{ old_text: "const b = 2;", new_text: "const b = 3;" }] });
    expect(edited).toMatch(/^Made 1 replacement in \/e.ts/);
    expect(edited).toContain("-const b = 2;\n+const b = 3;");
    await fails(mcp, "edit", { path: "/e.ts", edits: [{ old_text: "= 1;", new_text: "= 9;" }] }, /matches 2 times \(lines 1, 3\)/);
    await fails(
      mcp,
      "edit",
      {
        path: "/e.ts",
        edits: [
          { old_text: "const b = 3;", new_text: "x" },
          { old_text: "nope", new_text: "y" },
        ],
      },
      /not found/,
    );
    expect(await ok(mcp, "read", { path: "/e.ts" })).toBe("     1\tconst a = 1;\n     2\tconst b = 3;\n     3\tconst a2 = 1;");
    const dry = await ok(mcp, "edit", { path: "/e.ts", edits: [{ old_text: "= 1;", new_text: "= 7;", replace_all: true }], dry_run: true });
    expect(dry).toMatch(/^Dry run: would make 2 replacements/);
    expect(await ok(mcp, "read", { path: "/e.ts", limit: 1 })).toMatch(/const a = 1;/);
    await fails(mcp, "edit", { path: "/missing.ts", edits: [{ old_text: "a", new_text: "b" }] }, /^ENOENT/);
  });

  it("keeps CRLF line endings through an edit", async () => {
    const mcp = await fresh();
    const ws = await workspaceOf(mcp);
    await fetch(`${server.url}/w/${ws}/files/win.txt`, { method: "PUT", body: "alpha\r\nbeta\r\ngamma\r\n" });
    await ok(mcp, "edit", { path: "/win.txt", edits: [{ old_text: "beta\ngamma", new_text: "BETA\nGAMMA" }] });
    expect(await (await fetch(`${server.url}/w/${ws}/files/win.txt`)).text()).toBe("alpha\r\nBETA\r\nGAMMA\r\n");
  });

  it("lists a directory and shows a tree that skips ignored files unless asked", async () => {
    const mcp = await fresh();
    await ok(mcp, "write", { path: "/.gitignore", content: "node_modules/\n*.log\n" });
    await ok(mcp, "write", { path: "/src/index.ts", content: "x" });
    await ok(mcp, "write", { path: "/src/debug.log", content: "x" });
    await ok(mcp, "write", { path: "/node_modules/pkg/index.js", content: "x" });
    const listing = await ok(mcp, "ls", { path: "/" });
    expect(listing.split("\n")[0]).toBe("/ (3 entries)");
    expect(listing).toMatch(/-rw-r--r-- +20 B {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}\.gitignore/);
    expect(listing).toMatch(/drwxr-xr-x .* node_modules\/$/m);
    expect(await ok(mcp, "tree", {})).toBe("/\n  .gitignore\n  src/\n    index.ts");
    expect(await ok(mcp, "tree", { all: true, depth: 2 })).toBe("/\n  .gitignore\n  node_modules/\n    pkg/\n  src/\n    debug.log\n    index.ts");
    await fails(mcp, "ls", { path: "/src/index.ts" }, /^ENOTDIR/);
  });

  it("finds by glob, newest first on request, and pages with a cursor", async () => {
    const mcp = await fresh();
    for (const name of ["a", "b", "c"]) await ok(mcp, "write", { path: `/src/${name}.ts`, content: name });
    await ok(mcp, "write", { path: "/src/readme.md", content: "r" });
    expect(await ok(mcp, "find", { pattern: "**/*.ts" })).toBe("/src/a.ts\n/src/b.ts\n/src/c.ts");
    const page = await ok(mcp, "find", { pattern: "**/*.ts", limit: 2 });
    expect(page).toMatch(/^\/src\/a.ts\n\/src\/b.ts\n… more results; call find again with cursor="\/src\/b.ts"$/);
    expect(await ok(mcp, "find", { pattern: "**/*.ts", cursor: "/src/b.ts" })).toBe("/src/c.ts");
    await ok(mcp, "write", { path: "/src/a.ts", content: "touched later" });
    expect((await ok(mcp, "find", { pattern: "src/*", sort: "newest" })).split("\n")[0]).toMatch(/^\/src\/a.ts {2}/);
    expect(await ok(mcp, "find", { pattern: "*.rs" })).toBe("No matches.");
  });

  it("greps content with context, file lists and counts, and rejects a bad regex", async () => {
    const mcp = await fresh();
    await ok(mcp, "write", { path: "/a.ts", content: "one\nTODO two\nthree\nfour\nTODO five\n" });
    await ok(mcp, "write", { path: "/b.md", content: "todo in markdown\n" });
    expect(await ok(mcp, "grep", { pattern: "TODO" })).toBe("/a.ts:2:TODO two\n/a.ts:5:TODO five\n[2 files searched]");
    expect(await ok(mcp, "grep", { pattern: "todo", ignore_case: true, output_mode: "files_with_matches" })).toBe("/a.ts\n/b.md\n[2 files searched]");
    expect(await ok(mcp, "grep", { pattern: "todo", ignore_case: true, output_mode: "count" })).toBe("/a.ts:2\n/b.md:1\n[2 files searched]");
    expect(await ok(mcp, "grep", { pattern: "TODO", include: "*.ts", context: 1 })).toBe(
      "/a.ts-1-one\n/a.ts:2:TODO two\n/a.ts-3-three\n/a.ts-4-four\n/a.ts:5:TODO five\n[1 file searched]",
    );
    expect(await ok(mcp, "grep", { pattern: "(", literal: true })).toBe("No matches.\n[2 files searched]");
    await fails(mcp, "grep", { pattern: "(" }, /^EINVAL: \( is not a valid regular expression/);
  });

  it("makes directories, moves, copies and deletes, refusing to overwrite unless asked", async () => {
    const mcp = await fresh();
    expect(await ok(mcp, "mkdir", { path: "/a/b" })).toBe("Created /a/b");
    expect(await ok(mcp, "mkdir", { path: "/a/b" })).toBe("/a/b already exists");
    await ok(mcp, "write", { path: "/a/b/f.txt", content: "F" });
    await ok(mcp, "write", { path: "/g.txt", content: "G" });
    expect(await ok(mcp, "copy", { from: "/a", to: "/a-copy" })).toBe("Copied /a to /a-copy");
    expect(await ok(mcp, "read", { path: "/a-copy/b/f.txt" })).toBe("     1\tF");
    await fails(mcp, "move", { from: "/g.txt", to: "/a/b/f.txt" }, /^EEXIST: \/a\/b\/f.txt already exists; pass overwrite/);
    expect(await ok(mcp, "move", { from: "/g.txt", to: "/a/b/f.txt", overwrite: true })).toBe("Moved /g.txt to /a/b/f.txt");
    expect(await ok(mcp, "read", { path: "/a/b/f.txt" })).toBe("     1\tG");
    await fails(mcp, "move", { from: "/a", to: "/a/b/inside" }, /^EINVAL: .* cannot be moved into itself/);
    await fails(mcp, "copy", { from: "/nope", to: "/new/x" }, /^ENOENT/);
    await fails(mcp, "stat", { path: "/new" }, /^ENOENT/);
    expect(await ok(mcp, "move", { from: "/a-copy", to: "/deep/er/a-copy" })).toBe("Moved /a-copy to /deep/er/a-copy");
    expect(await ok(mcp, "read", { path: "/deep/er/a-copy/b/f.txt" })).toBe("     1\tF");
    await fails(mcp, "delete", { path: "/a" }, /^ENOTEMPTY: \/a is a directory that is not empty; pass recursive/);
    expect(await ok(mcp, "delete", { path: "/a", recursive: true })).toBe("Deleted directory /a");
    await fails(mcp, "stat", { path: "/a" }, /^ENOENT/);
  });

  it("describes a path with stat", async () => {
    const mcp = await fresh();
    await ok(mcp, "write", { path: "/s.txt", content: "12345" });
    const described = await ok(mcp, "stat", { path: "/s.txt" });
    expect(described).toMatch(/^path: \/s.txt\ntype: file\nsize: 5 \(5 B\)\nmode: -rw-r--r-- \(0644\)\n/);
  });

  it("rejects invalid arguments before changing anything", async () => {
    const mcp = await fresh();
    await fails(mcp, "write", { path: "", content: "x" }, /path/i);
    await fails(mcp, "write", { path: "/bad\0name", content: "x" }, /^EINVAL: .* contains a NUL byte/);
    await fails(mcp, "read", { path: "/x", offset: 0 }, /offset/);
    await fails(mcp, "edit", { path: "/x", edits: [] }, /edits/);
    expect(await ok(mcp, "find", { pattern: "**" })).toBe("No matches.");
  });
});

describe("workspaces and sessions", () => {
  it("shares one tree between concurrent sessions of a workspace", async () => {
    const name = `shared-${Date.now()}`;
    const [first, second] = await Promise.all([connectMcp(server.url, name), connectMcp(server.url, name)]);
    await ok(first, "write", { path: "/from-first", content: "1" });
    expect(await ok(second, "read", { path: "/from-first" })).toBe("     1\t1");
    await ok(second, "append", { path: "/from-first", content: "2" });
    expect(await ok(first, "read", { path: "/from-first" })).toBe("     1\t12");
  });

  it("keeps workspaces apart", async () => {
    const [left, right] = await Promise.all([connectMcp(server.url, `left-${Date.now()}`), connectMcp(server.url, `right-${Date.now()}`)]);
    await ok(left, "write", { path: "/only-left", content: "x" });
    await fails(right, "read", { path: "/only-left" }, /^ENOENT/);
  });

  it("keeps the data when the dev server restarts", async () => {
    const persistTo = join(state, "restart");
    const first = await startDevServer({ persistTo });
    try {
      await ok(await connectMcp(first.url, "durable"), "write", { path: "/kept.txt", content: "still here" });
    } finally {
      await first.stop();
    }
    const second = await startDevServer({ persistTo });
    try {
      expect(await ok(await connectMcp(second.url, "durable"), "read", { path: "/kept.txt" })).toBe("     1\tstill here");
    } finally {
      await second.stop();
    }
  }, 180_000);
});

describe("HTTP routes", () => {
  it("puts, gets, lists and deletes raw files", async () => {
    const base = `${server.url}/w/files-${Date.now()}/files`;
    const put = await fetch(`${base}/docs/a%20b.txt`, { method: "PUT", body: "hello" });
    expect(put.status).toBe(201);
    expect(await put.json()).toMatchObject({ type: "file", size: 5 });
    expect((await fetch(`${base}/docs/a%20b.txt`, { method: "PUT", body: "hello!" })).status).toBe(200);
    const got = await fetch(`${base}/docs/a%20b.txt`);
    expect(got.headers.get("Content-Length")).toBe("6");
    expect(await got.text()).toBe("hello!");
    expect(await (await fetch(`${base}/docs`)).json()).toMatchObject({ path: "/docs", entries: [{ name: "a b.txt", type: "file", size: 6 }] });
    expect((await fetch(`${base}/docs`, { method: "DELETE" })).status).toBe(409);
    expect((await fetch(`${base}/docs?recursive=1`, { method: "DELETE" })).status).toBe(204);
    const missing = await fetch(`${base}/docs/a%20b.txt`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: "ENOENT", message: expect.stringMatching(/^ENOENT: \/docs\/a b.txt does not exist/) });
    for (const bad of ["%c0%ae", "a%ff", "%E2%82"]) {
      const response = await fetch(`${base}/${bad}`, { method: "PUT", body: "x" });
      expect(response.status, bad).toBe(400);
      expect(await response.json()).toEqual({ error: "EINVAL", message: `/${bad} is not a valid path: its percent-encoding does not decode to UTF-8` });
    }
    expect(await (await fetch(base)).json()).toMatchObject({ path: "/", entries: [] });
  });

  it("answers health, bad names, unknown routes and oversized bodies with clear errors", async () => {
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ ok: true });
    const badName = await fetch(`${server.url}/w/bad%20name!/mcp`, { method: "POST", body: "{}" });
    expect(badName.status).toBe(400);
    expect(await badName.json()).toMatchObject({ error: "EINVAL" });
    expect((await fetch(`${server.url}/elsewhere`)).status).toBe(404);
    expect((await fetch(`${server.url}/w/ok/unknown`)).status).toBe(404);
    expect(await (await fetch(`${server.url}/w/ok/ping`)).json()).toEqual({ ok: true });
    const huge = await fetch(`${server.url}/w/ok/mcp`, { method: "POST", headers: { "Content-Type": "application/json" }, body: " ".repeat(17 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: "EFBIG" });
  });
});

describe("access tokens", () => {
  const secret = "test-secret-of-some-length";
  let guarded: DevServer;

  beforeAll(async () => {
    guarded = await startDevServer({ persistTo: join(state, "auth"), token: secret });
  }, 120_000);
  afterAll(() => guarded?.stop());

  it("requires a bearer token on every workspace route", async () => {
    for (const path of ["/w/a/mcp", "/w/a/files/x", "/w/a/wsd"]) {
      const response = await fetch(`${guarded.url}${path}`);
      expect(response.status).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
    }
    expect((await fetch(`${guarded.url}/w/a/files/x`, { headers: { Authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await fetch(`${guarded.url}/health`)).status).toBe(200);
  });

  it("opens every workspace with the secret and one workspace with its scoped token", async () => {
    const withSecret = await connectMcp(guarded.url, "alpha", secret);
    await ok(withSecret, "write", { path: "/a.txt", content: "A" });
    const alphaToken = await scopedToken(secret, "alpha");
    expect(await ok(await connectMcp(guarded.url, "alpha", alphaToken), "read", { path: "/a.txt" })).toBe("     1\tA");
    expect((await fetch(`${guarded.url}/w/beta/files/`, { headers: { Authorization: `Bearer ${alphaToken}` } })).status).toBe(401);
    await expect(connectMcp(guarded.url, "beta", alphaToken)).rejects.toThrow();
  });

  it("a read-only token reads and refuses every change, exec and the coding agent with EACCES", async () => {
    await ok(await connectMcp(guarded.url, "gamma", secret), "write", { path: "/notes/a.txt", content: "A\n" });
    const token = await scopedToken(secret, "gamma", "read");
    expect(token).toMatch(/^read\.[0-9a-f]{64}$/);
    const reader = await connectMcp(guarded.url, "gamma", token);
    expect((await reader.listTools()).tools.length).toBeGreaterThan(10);
    expect(await ok(reader, "read", { path: "/notes/a.txt" })).toBe("     1\tA");
    expect(await ok(reader, "grep", { pattern: "A" })).toContain("/notes/a.txt");
    for (const [tool, args] of [
      ["write", { path: "/b.txt", content: "x" }],
      ["edit", { path: "/notes/a.txt", edits: [{ old_text: "A", new_text: "B" }] }],
      ["delete", { path: "/notes", recursive: true }],
      ["mkdir", { path: "/d" }],
    ] as const) {
      await fails(reader, tool, args, new RegExp(`^EACCES: ${tool} is refused: this token may only read; ask for a token with write access`));
    }
    await fails(reader, "exec", { command: "true" }, /^EACCES: exec is refused: this token may only read; ask for a token with full access/);
    const headers = { Authorization: `Bearer ${token}` };
    expect(await (await fetch(`${guarded.url}/w/gamma/files/notes/a.txt`, { headers })).text()).toBe("A\n");
    const put = await fetch(`${guarded.url}/w/gamma/files/notes/a.txt`, { method: "PUT", body: "changed", headers });
    expect(put.status).toBe(403);
    expect(await put.json()).toEqual({ error: "EACCES", message: "PUT /notes/a.txt is refused: this token may only read" });
    expect((await fetch(`${guarded.url}/w/gamma/files/notes/a.txt`, { method: "DELETE", headers })).status).toBe(403);
    expect((await fetch(`${guarded.url}/w/gamma/agent`, { method: "POST", body: "{}", headers })).status).toBe(403);
    expect(await ok(reader, "read", { path: "/notes/a.txt" })).toBe("     1\tA");
    // A read token names its workspace too, and a forged prefix opens nothing.
    expect((await fetch(`${guarded.url}/w/delta/files/`, { headers })).status).toBe(401);
    expect((await fetch(`${guarded.url}/w/gamma/files/`, { headers: { Authorization: `Bearer write.${token.slice(5)}` } })).status).toBe(401);
  });

  it("a token without exec changes files but refuses exec and the coding agent", async () => {
    const token = await scopedToken(secret, "epsilon", "write");
    const writer = await connectMcp(guarded.url, "epsilon", token);
    await ok(writer, "write", { path: "/a.txt", content: "A" });
    await fails(writer, "exec", { command: "true" }, /^EACCES: exec is refused: this token may change files but not run commands/);
    const agent = await fetch(`${guarded.url}/w/epsilon/agent`, { method: "POST", body: "{}", headers: { Authorization: `Bearer ${token}` } });
    expect(agent.status).toBe(403);
    expect(await agent.json()).toEqual({ error: "EACCES", message: "The coding agent changes files and runs commands; this token has write access only" });
  });
});

describe("closed by default", () => {
  let closed: DevServer;

  beforeAll(async () => {
    closed = await startDevServer({ persistTo: join(state, "closed"), open: false });
  }, 120_000);
  afterAll(() => closed?.stop());

  it("a server with no WORKSPACE_TOKEN and no local-open variable refuses every workspace route and says what to set", async () => {
    for (const [method, path] of [
      ["GET", "/w/a/mcp"],
      ["POST", "/w/a/mcp"],
      ["GET", "/w/a/files/x"],
      ["PUT", "/w/a/files/x"],
      ["GET", "/w/a/wsd"],
      ["POST", "/w/a/agent"],
    ] as const) {
      const response = await fetch(`${closed.url}${path}`, { method, body: method === "GET" ? undefined : "{}" });
      expect(response.status, `${method} ${path}`).toBe(503);
      const body = (await response.json()) as { error: string; message: string };
      expect(body.error).toBe("EACCES");
      expect(body.message).toContain("npx wrangler secret put WORKSPACE_TOKEN");
    }
    await expect(connectMcp(closed.url, "a")).rejects.toThrow();
    expect((await fetch(`${closed.url}/health`)).status).toBe(200);
  });

  it("refuses even a bearer token while it has no secret to check it against", async () => {
    const response = await fetch(`${closed.url}/w/a/files/x`, { headers: { Authorization: "Bearer anything" } });
    expect(response.status).toBe(503);
  });
});
