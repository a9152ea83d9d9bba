/**
 * The workspace's view as an MCP App, in a real host: a page in Debian's chromium holds the view
 * in a sandboxed frame and speaks to it with the ext-apps library's own AppBridge, relaying the
 * view's tool calls and resource reads to a real `wrangler dev` through the SDK client, as an AI
 * client that renders MCP Apps does.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getToolUiResourceUri } from "@modelcontextprotocol/ext-apps/app-bridge";
import { RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY } from "@modelcontextprotocol/ext-apps/server";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { build } from "esbuild";
import type { Browser, FrameLocator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, connectMcp, type DevServer, startDevServer } from "../../harness/dev-server.ts";
import { APP_MIME_TYPE, LEGACY_RESOURCE_URI_KEY, VIEW_URI } from "../../src/mcp/app-view.ts";
import { hasChromium, launchChromium, SCREENSHOTS } from "../support/chromium.ts";

const TOKEN = "mcp-app-secret";
const state = mkdtempSync(join(tmpdir(), "mcp-app-"));
let server: DevServer;
let browser: Browser;
let mcp: Client;

/** The host's side: the library's AppBridge and its postMessage transport, bundled for the page. */
async function hostScript(): Promise<string> {
  const result = await build({
    stdin: {
      contents: `
        import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";
        // Puts the view in the frame and tells it the call that opened it, as a host does.
        window.openView = async (html, args, result) => {
          const frame = document.getElementById("view");
          const bridge = new AppBridge(null, { name: "test host", version: "1.0.0" }, { serverTools: {}, serverResources: {} });
          bridge.oncalltool = (params) => window.hostCallTool(params);
          bridge.onreadresource = (params) => window.hostReadResource(params);
          const initialized = new Promise((resolve) => (bridge.oninitialized = resolve));
          frame.srcdoc = html;
          await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
          await initialized;
          await bridge.sendToolInput({ arguments: args });
          await bridge.sendToolResult(result);
        };`,
      resolveDir: join(import.meta.dirname, "../.."),
    },
    bundle: true,
    format: "iife",
    write: false,
    logLevel: "warning",
  });
  return result.outputFiles[0]!.text;
}

describe.skipIf(!hasChromium)("the view as an MCP App", () => {
  beforeAll(async () => {
    server = await startDevServer({ persistTo: state, token: TOKEN });
    browser = await launchChromium();
    mcp = await connectMcp(server.url, "app", TOKEN);
    await callTool(mcp, "write", { path: "/src/app.ts", content: "export function greet(name: string) {\n  return `hello ${name}`;\n}\n" });
    await callTool(mcp, "write", { path: "/README.md", content: "# app\n" });
  }, 120_000);

  afterAll(async () => {
    await mcp?.close();
    await browser?.close();
    await server?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  it("lists the tool that opens the view with the view's ui:// resource, served as an MCP App page", async () => {
    // The constants this server writes are the library's own.
    expect([APP_MIME_TYPE, LEGACY_RESOURCE_URI_KEY]).toEqual([RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY]);
    const { tools } = await mcp.listTools();
    const show = tools.find((tool) => tool.name === "show_workspace");
    expect(show).toBeDefined();
    expect(getToolUiResourceUri(show as Parameters<typeof getToolUiResourceUri>[0])).toBe(VIEW_URI);
    expect(show!.annotations).toMatchObject({ readOnlyHint: true });
    const { contents } = await mcp.readResource({ uri: VIEW_URI });
    expect(contents).toHaveLength(1);
    expect(contents[0]).toMatchObject({ uri: VIEW_URI, mimeType: RESOURCE_MIME_TYPE });
    const page = (contents[0] as { text: string }).text;
    // One file: nothing for the frame to load from elsewhere.
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet/);
    // Clients that show no apps read the answer.
    const answered = (await mcp.callTool({ name: "show_workspace", arguments: { path: "/nope.ts" } })) as { isError?: boolean; content: { text: string }[] };
    expect(answered.isError).toBe(true);
    expect(answered.content[0]!.text).toMatch(/^ENOENT: \/nope\.ts/);
  });

  it("shows the file the call named, searches, sees a change made through MCP, and restores after asking, all through the host", async () => {
    const page = await openInHost({ path: "/src/app.ts" });
    const view = page.frameLocator("#view");
    await view.locator("header strong", { hasText: "app" }).waitFor();
    await view.locator("code.hljs .hljs-keyword", { hasText: "function" }).first().waitFor();
    expect(await view.locator(".file h2").textContent()).toBe("/src/app.ts");
    expect(await view.locator(".gutter").textContent()).toMatch(/^1\n2\n3\n4\n$/);

    await view.getByLabel("Search", { exact: true }).fill("hello");
    await view.getByLabel("Search", { exact: true }).press("Enter");
    await expect.poll(() => view.locator(".results li").first().textContent()).toContain("/src/app.ts:2");

    await callTool(mcp, "edit", { path: "/README.md", edits: [{ old_text: "# app", new_text: "# changed" }] });
    await view.locator(".feed li", { hasText: "/README.md" }).waitFor({ timeout: 10_000 });
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, "mcp-app.png") });

    await view.locator(".feed li a", { hasText: "/README.md" }).click();
    await view.getByRole("button", { name: "History" }).click();
    const rows = view.locator(".versions tr");
    await expect.poll(() => rows.count()).toBe(2);
    await rows.nth(0).getByRole("button", { name: "Diff" }).click();
    await expect.poll(() => view.locator("pre.diff").textContent()).toContain("+# changed");
    await rows.nth(1).getByRole("button", { name: "Restore" }).click();
    await confirm(view);
    await expect.poll(async () => (await mcp.readResource({ uri: "workspace:///README.md" })).contents[0]).toMatchObject({ text: "# app\n" });
    await page.close();
  });

  /** A host page: the view in a sandboxed frame, the bridge relaying its requests to the server through the test's MCP client. */
  async function openInHost(args: Record<string, unknown>): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 820 } });
    await page.exposeFunction("hostCallTool", (params: { name: string; arguments?: Record<string, unknown> }) => mcp.callTool(params));
    await page.exposeFunction("hostReadResource", (params: { uri: string }) => mcp.readResource(params));
    await page.setContent('<iframe id="view" sandbox="allow-scripts" style="width:1380px;height:800px;border:0"></iframe>');
    await page.addScriptTag({ content: await hostScript() });
    const html = ((await mcp.readResource({ uri: VIEW_URI })).contents[0] as { text: string }).text;
    const result = await mcp.callTool({ name: "show_workspace", arguments: args });
    type Host = { openView: (html: string, args: Record<string, unknown>, result: unknown) => Promise<void> };
    await page.evaluate(([html, args, result]) => (globalThis as unknown as Host).openView(html, args, result), [html, args, result] as const);
    return page;
  }

  async function confirm(view: FrameLocator): Promise<void> {
    const question = view.getByRole("alertdialog", { name: "Confirm" });
    expect(await question.textContent()).toMatch(/^Restore \/README\.md to revision \d+\?/);
    await question.getByRole("button", { name: "Yes" }).click();
  }
});
