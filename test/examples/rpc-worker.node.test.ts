/**
 * examples/rpc-worker end to end: the example Worker and the workspace server in one real
 * `wrangler dev` (multi-config), the example's job routes calling workspaces by Durable Object
 * RPC, and the official MCP client checking the same workspace through the workspace server.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, connectMcp, type DevServer, startDevServer } from "../../harness/dev-server.ts";

const root = join(import.meta.dirname, "../..");
const state = mkdtempSync(join(tmpdir(), "rpc-worker-"));
const SECRET = "rpc-example-secret";

/**
 * The workspace server's config with its WORKSPACE_TOKEN as a variable: wrangler gives `--var`
 * to the first Worker of a multi-config run only, and a workspace server without a secret is
 * closed, as it would be deployed.
 */
function serverConfigWithSecret(): string {
  const config = JSON.parse(
    readFileSync(join(root, "wrangler.jsonc"), "utf8")
      .split("\n")
      .filter((line) => !line.trim().startsWith("//"))
      .join("\n"),
  );
  delete config.$schema;
  // Paths in a copy resolve from where it lies: the page's assets are the repository's (built by
  // `npm test` before the tests), and the build step stays with the repository's own config.
  delete config.build;
  const path = join(state, "workspace-server.jsonc");
  writeFileSync(
    path,
    JSON.stringify({
      ...config,
      main: join(root, config.main),
      assets: { ...config.assets, directory: join(root, "dist-web") },
      vars: { WORKSPACE_TOKEN: SECRET },
    }),
  );
  return path;
}
let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ persistTo: state, configs: [join(root, "examples/rpc-worker/wrangler.jsonc"), serverConfigWithSecret()] });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(state, { recursive: true, force: true });
});

describe("examples/rpc-worker", () => {
  it("seeds a job by RPC, an MCP client sees and answers it, and the results read back", async () => {
    const seeded = await fetch(`${server.url}/jobs/job-1`, {
      method: "POST",
      body: JSON.stringify({ files: { "/task.md": "Add the numbers in /in/numbers.txt.\n", "/in/numbers.txt": "1 2 3\n" } }),
    });
    expect(seeded.status).toBe(201);
    expect(await seeded.json()).toEqual({ seeded: ["/task.md", "/in/numbers.txt"], root: ["in", "task.md"] });

    const mcp = await connectMcp(server.url, "job-1", SECRET);
    expect(await callTool(mcp, "read", { path: "/in/numbers.txt" })).toBe("     1\t1 2 3");
    await callTool(mcp, "write", { path: "/out/sum.txt", content: "6\n" });
    await callTool(mcp, "write", { path: "/out/logs/steps.md", content: "read, added, wrote\n" });

    const results = await fetch(`${server.url}/jobs/job-1/results`);
    expect(await results.json()).toEqual({ files: { "/out/logs/steps.md": "read, added, wrote\n", "/out/sum.txt": "6\n" } });
  });

  it("answers a workspace error with its errno code and path, and a bad job with EINVAL", async () => {
    const response = await fetch(`${server.url}/jobs/job-2/results`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "ENOENT", message: "ENOENT: /out does not exist" });
    const bad = await fetch(`${server.url}/jobs/job-2`, { method: "POST", body: "not json" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "EINVAL" });
  });

  it("passes every other request to the workspace server", async () => {
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ ok: true });
    const headers = { Authorization: `Bearer ${SECRET}` };
    expect(await fetch(`${server.url}/w/job-1/files/out/sum.txt`, { headers }).then((response) => response.text())).toBe("6\n");
    expect((await fetch(`${server.url}/w/job-1/files/out/sum.txt`)).status).toBe(401);
  });
});
