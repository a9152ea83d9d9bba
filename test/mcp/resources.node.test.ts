import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client as ModernClient, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, connectMcp, type DevServer, startDevServer } from "../../harness/dev-server.ts";
import { eventually } from "../../harness/eventually.ts";

/**
 * The MCP surface beyond tools, end to end with the official SDK client over HTTP: the server's
 * instructions, every file as a resource (paged listing, text and blob reads, path completion)
 * and the prompts built from the workspace's data.
 */

const state = mkdtempSync(join(tmpdir(), "resources-test-"));
let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ persistTo: state });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(state, { recursive: true, force: true });
});

describe("the MCP surface: structured output, resources, prompts, instructions", () => {
  it("tells a model what the workspace is", async () => {
    const mcp = await connectMcp(server.url, `instructions-${Date.now()}`);
    try {
      expect(mcp.getInstructions()).toMatch(/^This server is one workspace/);
      expect(mcp.getInstructions()).toContain("exec runs a shell command");
      expect(mcp.getServerVersion()).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    } finally {
      await mcp.close();
    }
  });

  it("lists every file as a resource in pages, skipping what .gitignore ignores, and reads text and bytes with their MIME type", async () => {
    const name = `resources-${Date.now()}`;
    const base = `${server.url}/w/${name}`;
    const mcp = await connectMcp(server.url, name);
    try {
      await callTool(mcp, "write", { path: "/.gitignore", content: "dist/\n" });
      await callTool(mcp, "write", { path: "/src/app.ts", content: "export const app = 1;\n" });
      await callTool(mcp, "write", { path: "/dist/app.js", content: "built\n" });
      await callTool(mcp, "write", { path: "/notes/a file.md", content: "# notes\n" });
      const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0, 1, 2, 3]);
      await fetch(`${base}/files/img/logo.png`, { method: "PUT", body: png });
      await Promise.all(
        Array.from({ length: 520 }, (_, i) =>
          fetch(`${base}/files/many/f${String(i).padStart(3, "0")}.txt`, { method: "PUT", body: `${i}\n` }).then((r) => r.arrayBuffer()),
        ),
      );

      const first = await mcp.listResources();
      expect(first.resources).toHaveLength(500);
      expect(first.resources.slice(0, 3).map((resource) => resource.uri)).toEqual([
        "workspace:///.gitignore",
        "workspace:///img/logo.png",
        "workspace:///many/f000.txt",
      ]);
      expect(first.nextCursor).toBe("/many/f497.txt");
      const second = await mcp.listResources({ cursor: first.nextCursor });
      expect(second.nextCursor).toBeUndefined();
      const uris = [...first.resources, ...second.resources].map((resource) => resource.uri);
      expect(uris).toHaveLength(524);
      expect(uris.slice(-2)).toEqual(["workspace:///notes/a%20file.md", "workspace:///src/app.ts"]);
      expect(uris.some((uri) => uri.includes("dist/"))).toBe(false);
      expect(second.resources.at(-1)).toMatchObject({ name: "/src/app.ts", mimeType: "text/x-typescript", size: 22 });

      const text = await mcp.readResource({ uri: "workspace:///notes/a%20file.md" });
      expect(text.contents).toEqual([{ uri: "workspace:///notes/a%20file.md", mimeType: "text/markdown", text: "# notes\n" }]);
      const image = await mcp.readResource({ uri: "workspace:///img/logo.png" });
      expect(image.contents[0]).toMatchObject({ mimeType: "image/png" });
      expect(Buffer.from((image.contents[0] as { blob: string }).blob, "base64")).toEqual(Buffer.from(png));
      // An ignored file is still readable by its URI; a missing one is an error that says so.
      expect((await mcp.readResource({ uri: "workspace:///dist/app.js" })).contents[0]).toMatchObject({ text: "built\n" });
      await expect(mcp.readResource({ uri: "workspace:///src/nope.ts" })).rejects.toThrow(/ENOENT: \/src\/nope\.ts does not exist/);
      await expect(mcp.readResource({ uri: "workspace:///src" })).rejects.toThrow(/EISDIR/);

      const templates = await mcp.listResourceTemplates();
      expect(templates.resourceTemplates.map((template) => template.uriTemplate)).toEqual(["workspace:///{+path}"]);
      const completion = await mcp.complete({ ref: { type: "ref/resource", uri: "workspace:///{+path}" }, argument: { name: "path", value: "s" } });
      expect(completion.completion.values).toEqual(["src/"]);
      const inside = await mcp.complete({ ref: { type: "ref/resource", uri: "workspace:///{+path}" }, argument: { name: "path", value: "src/a" } });
      expect(inside.completion.values).toEqual(["src/app.ts"]);
    } finally {
      await mcp.close();
    }
  }, 60_000);

  it("tells a listening client (protocol 2026-07-28) when a subscribed file changes, whoever wrote it, and when files come and go", async () => {
    const name = `subscribe-${Date.now()}`;
    const base = `${server.url}/w/${name}`;
    const writer = await connectMcp(server.url, name);
    const client = new ModernClient({ name: "subscriber", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    const heard: string[] = [];
    client.setNotificationHandler("notifications/resources/updated", (notification) => void heard.push(`updated ${notification.params.uri}`));
    client.setNotificationHandler("notifications/resources/list_changed", () => void heard.push("list changed"));
    try {
      await callTool(writer, "write", { path: "/watched.txt", content: "one\n" });
      const subscription = await client.listen({ resourceSubscriptions: ["workspace:///watched.txt"], resourcesListChanged: true });
      expect(subscription.honoredFilter).toMatchObject({ resourceSubscriptions: ["workspace:///watched.txt"] });
      await fetch(`${base}/files/watched.txt`, { method: "PUT", body: "two\n" });
      await callTool(writer, "write", { path: "/other.txt", content: "not watched\n" });
      await eventually(() => expect(heard).toEqual(["updated workspace:///watched.txt", "list changed"]));
      await callTool(writer, "edit", { path: "/other.txt", edits: [{ old_text: "not", new_text: "still not" }] });
      await callTool(writer, "delete", { path: "/watched.txt" });
      await eventually(() => expect(heard.slice(2)).toEqual(["updated workspace:///watched.txt", "list changed"]));
      await subscription.close();
    } finally {
      await client.close();
      await writer.close();
    }
  });

  it("answers every tool with structured content that its output schema accepts (the SDK client checks each)", async () => {
    const name = `structured-${Date.now()}`;
    const mcp = await connectMcp(server.url, name);
    try {
      const { tools } = await mcp.listTools();
      expect(tools.filter((tool) => !tool.outputSchema).map((tool) => tool.name)).toEqual([]);
      // Every parameter says what it is.
      const undescribed = tools.flatMap((tool) =>
        Object.entries((tool.inputSchema.properties ?? {}) as Record<string, { description?: string }>)
          .filter(([, schema]) => !schema.description)
          .map(([parameter]) => `${tool.name}.${parameter}`),
      );
      expect(undescribed).toEqual([]);
      const calls: [string, Record<string, unknown>][] = [
        ["write", { path: "/src/app.ts", content: "export const a = 1; // TODO\n" }],
        ["write", { path: "/src/app.ts", content: "export const a = 2; // TODO\n" }],
        ["append", { path: "/src/app.ts", content: "export const b = 3;\n" }],
        ["edit", { path: "/src/app.ts", edits: [{ old_text: "a = 2", new_text: "a = 4" }] }],
        ["read", { path: "/src/app.ts" }],
        ["read_many", { paths: ["/src/app.ts", "/missing.ts"] }],
        ["mkdir", { path: "/out" }],
        ["copy", { from: "/src/app.ts", to: "/out/copy.ts" }],
        ["move", { from: "/out/copy.ts", to: "/out/moved.ts" }],
        ["ls", { path: "/src" }],
        ["tree", {}],
        ["find", { pattern: "**/*.ts" }],
        ["find", { pattern: "**/*.ts", sort: "newest" }],
        ["grep", { pattern: "TODO" }],
        ["grep", { pattern: "TODO", output_mode: "count" }],
        ["stat", { path: "/src/app.ts" }],
        ["checkpoint", { label: "structured" }],
        ["delete", { path: "/out", recursive: true }],
        ["history", {}],
        ["diff", { from: "structured" }],
        ["restore", { to: "structured", dry_run: true }],
        ["undo", { last: 1 }],
        ["fork", { to: `${name}-fork` }],
        ["exec_status", {}],
      ];
      for (const [tool, args] of calls) {
        const result = (await mcp.callTool({ name: tool, arguments: args })) as {
          isError?: boolean;
          structuredContent?: Record<string, unknown>;
          content: { text?: string }[];
        };
        expect(result.isError, `${tool}: ${result.content.map((part) => part.text).join("")}`).toBeFalsy();
        expect(result.structuredContent, tool).toBeDefined();
      }
      const written = (await mcp.callTool({ name: "write", arguments: { path: "/x.txt", content: "x" } })) as { structuredContent: Record<string, unknown> };
      expect(written.structuredContent).toMatchObject({
        path: "/x.txt",
        size: 1,
        created: true,
        revision: expect.any(Number),
        call: expect.stringMatching(/^call-/),
      });
    } finally {
      await mcp.close();
    }
  });

  it("offers prompts built from the workspace's own changes", async () => {
    const name = `prompts-${Date.now()}`;
    const mcp = await connectMcp(server.url, name);
    try {
      await callTool(mcp, "write", { path: "/app.ts", content: "const retries = 3;\n" });
      await callTool(mcp, "checkpoint", { label: "reviewed" });
      await callTool(mcp, "edit", { path: "/app.ts", edits: [{ old_text: "3", new_text: "0" }] });
      expect((await mcp.listPrompts()).prompts.map((prompt) => prompt.name).sort()).toEqual(["recent_activity", "review_changes"]);
      const review = await mcp.getPrompt({ name: "review_changes", arguments: {} });
      const text = (review.messages[0]!.content as { text: string }).text;
      expect(text).toMatch(/^Review these changes to the workspace since checkpoint:\d+/);
      expect(text).toContain("-const retries = 3;\n+const retries = 0;");
      const recent = await mcp.getPrompt({ name: "recent_activity", arguments: { limit: "5" } });
      expect((recent.messages[0]!.content as { text: string }).text).toMatch(/M \/app\.ts .* mcp edit/);
    } finally {
      await mcp.close();
    }
  });
});
