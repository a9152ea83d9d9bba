/**
 * The web view in a real browser: Debian's chromium driven by playwright-core, against a real
 * `wrangler dev` (which builds the page) with a token, and the MCP client making changes the
 * page must show live.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, connectMcp, type DevServer, startDevServer } from "../../harness/dev-server.ts";
import { eventually } from "../../harness/eventually.ts";
import { hasChromium, launchChromium, SCREENSHOTS } from "../support/chromium.ts";

const TOKEN = "web-view-secret";
const state = mkdtempSync(join(tmpdir(), "web-view-"));
let server: DevServer;
let browser: Browser;
let mcp: Client;

describe.skipIf(!hasChromium)("the web view in Chromium", () => {
  beforeAll(async () => {
    server = await startDevServer({ persistTo: state, token: TOKEN });
    browser = await launchChromium();
    mcp = await connectMcp(server.url, "web", TOKEN);
    await callTool(mcp, "write", {
      path: "/src/app.ts",
      content: "export function greet(name: string) {\n  return `hello ${name}`; // TODO: punctuation\n}\n",
    });
    await callTool(mcp, "write", { path: "/README.md", content: "# web view\n" });
    await callTool(mcp, "write", { path: "/.gitignore", content: "dist/\n" });
    await callTool(mcp, "write", { path: "/dist/bundle.js", content: "built\n" });
    await callTool(mcp, "checkpoint", { label: "first" });
  }, 120_000);

  afterAll(async () => {
    await mcp?.close();
    await browser?.close();
    await server?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  const open = async (): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    await page.goto(`${server.url}/w/web/`);
    // A token, given once, kept in the tab's session storage and never in the address.
    await page.getByLabel("Token").fill(TOKEN);
    await page.getByRole("button", { name: "Use it" }).click();
    await page.locator('a[data-path="/src"]').waitFor();
    expect(page.url()).toBe(`${server.url}/w/web/`);
    return page;
  };

  it("asks for a workspace at /, and for a token before it shows anything of a workspace", async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.getByLabel("Workspace name").fill("web");
    await page.getByRole("button", { name: "Open" }).click();
    await page.getByLabel("Token").waitFor();
    expect(page.url()).toBe(`${server.url}/w/web/`);
    expect(await page.locator('a[data-path="/src"]').count()).toBe(0);
    await page.close();
  });

  it("does not ask again when a request sent before the token was given is refused after it", async () => {
    const page = await browser.newPage();
    // The checkpoints' request without a token is held until the token has been given.
    let tokenGiven!: () => void;
    const given = new Promise<void>((resolve) => (tokenGiven = resolve));
    let heldRefused!: () => void;
    const refused = new Promise<void>((resolve) => (heldRefused = resolve));
    await page.route(
      (url) => url.pathname === "/w/web/history",
      async (route) => {
        if (route.request().headers().authorization) return route.continue();
        await given;
        const response = await route.fetch();
        expect(response.status()).toBe(401);
        await route.fulfill({ response });
        heldRefused();
      },
    );
    await page.goto(`${server.url}/w/web/`);
    await page.getByLabel("Token").fill(TOKEN);
    await page.getByRole("button", { name: "Use it" }).click();
    tokenGiven();
    await refused;
    await page.locator('a[data-path="/src"]').waitFor();
    expect(await page.getByLabel("Token").count()).toBe(0);
    await page.close();
  });

  it("browses to a file shown highlighted with line numbers, searches, and shows a change made through MCP live", async () => {
    const page = await open();
    // What .gitignore ignores is dimmed; the rest is not.
    expect(await page.locator('a[data-path="/dist"]').getAttribute("class")).toContain("dim");
    expect(await page.locator('a[data-path="/src"]').getAttribute("class")).not.toContain("dim");
    await page.locator('a[data-path="/src"]').click();
    await page.locator('a[data-path="/src/app.ts"]').click();
    await page.locator("code.hljs .hljs-keyword", { hasText: "function" }).first().waitFor();
    expect(await page.locator(".gutter").textContent()).toMatch(/^1\n2\n3\n4\n$/);
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, "file.png") });

    await page.getByLabel("Search", { exact: true }).fill("TODO");
    await page.getByLabel("Search", { exact: true }).press("Enter");
    await expect.poll(() => page.locator(".results li").first().textContent()).toContain("/src/app.ts:2");

    // The feed's stream is open already: the change arrives without a reload.
    await callTool(mcp, "write", { path: "/src/live.ts", content: "export const live = true;\n" });
    await page.locator(".feed li", { hasText: "/src/live.ts" }).waitFor({ timeout: 10_000 });
    await page.locator('a[data-path="/src/live.ts"].flash').waitFor({ timeout: 5000 });
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, "live.png") });
    await page.close();
  });

  it("shows a file's history with its diff, and restores a version after asking", async () => {
    await callTool(mcp, "edit", { path: "/README.md", edits: [{ old_text: "# web view", new_text: "# broken" }] });
    await callTool(mcp, "write", { path: "/after.txt", content: "made after the checkpoint\n" });
    const page = await open();
    await page.locator('a[data-path="/README.md"]').click();
    await page.getByRole("button", { name: "History" }).click();
    const rows = page.locator(".versions tr");
    await expect.poll(() => rows.count()).toBe(2);
    await rows.nth(0).getByRole("button", { name: "Diff" }).click();
    await expect.poll(() => page.locator("pre.diff").textContent()).toContain("+# broken");
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, "history.png") });

    const question = page.getByRole("alertdialog", { name: "Confirm" });
    await rows.nth(1).getByRole("button", { name: "Restore" }).click();
    expect(await question.textContent()).toMatch(/^Restore \/README\.md to revision \d+\?/);
    await question.getByRole("button", { name: "Yes" }).click();
    await eventually(async () =>
      expect(await (await fetch(`${server.url}/w/web/files/README.md`, { headers: { Authorization: `Bearer ${TOKEN}` } })).text()).toBe("# web view\n"),
    );

    // Declining changes nothing: a file made after the checkpoint stays.
    await page.locator(".checkpoints li", { hasText: "first" }).getByRole("button", { name: "Restore" }).click();
    expect(await question.textContent()).toMatch(/^Restore the whole workspace to checkpoint "first"/);
    await question.getByRole("button", { name: "No" }).click();
    await question.waitFor({ state: "detached" });
    expect((await fetch(`${server.url}/w/web/files/after.txt`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    await page.close();
  });
});
