/**
 * examples/mcp-clients: the MCP Inspector's command line (`mcp-inspector --cli`), an MCP client
 * independent of ours, run as a child process against a real `wrangler dev`, with and without
 * an access token, as examples/mcp-clients/README.md shows it (plus `--format json`).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../../harness/dev-server.ts";
import { scopedToken } from "../../src/agent/scoped-token.ts";

const inspectorPackage = createRequire(import.meta.url).resolve("@modelcontextprotocol/inspector/package.json");
const inspectorBin = join(dirname(inspectorPackage), JSON.parse(readFileSync(inspectorPackage, "utf8")).bin["mcp-inspector"]);
const dir = mkdtempSync(join(tmpdir(), "mcp-clients-"));
const SECRET = "inspector-secret";
let open: DevServer;
let locked: DevServer;

interface Run {
  code: number;
  /** stdout parsed: `--format json` prints one JSON object, `{ result }`. */
  json: {
    result?: {
      tools?: { name: string; inputSchema: { required?: string[] } }[];
      content?: { type: string; text?: string }[];
      isError?: boolean;
    };
  };
  stderr: string;
}

/** `mcp-inspector --cli <args> --format json`, with its state (~/.mcp-inspector) kept in the temp dir. */
function inspector(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, HOME: dir };
    execFile(process.execPath, [inspectorBin, "--cli", ...args, "--format", "json"], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") return reject(error);
      resolve({ code: error ? Number(error.code) : 0, json: stdout ? JSON.parse(stdout) : {}, stderr });
    });
  });
}

beforeAll(async () => {
  [open, locked] = await Promise.all([startDevServer({ persistTo: join(dir, "open") }), startDevServer({ persistTo: join(dir, "locked"), token: SECRET })]);
}, 180_000);

afterAll(async () => {
  await Promise.all([open?.stop(), locked?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("the MCP Inspector CLI", () => {
  it("lists the workspace's tools over streamable HTTP", async () => {
    const { code, json } = await inspector("--transport", "http", "--server-url", `${open.url}/w/inspected/mcp`, "--method", "tools/list");
    expect(code).toBe(0);
    const tools = json.result!.tools!;
    expect(tools).toHaveLength(24);
    expect(tools.find((tool) => tool.name === "write")?.inputSchema.required).toEqual(["path", "content"]);
  });

  it("writes a file, reads it back and lists it with tools/call", async () => {
    const url = `${open.url}/w/inspected/mcp`;
    const call = async (tool: string, ...args: string[]) => {
      const { code, json } = await inspector(url, "--method", "tools/call", "--tool-name", tool, ...args.flatMap((arg) => ["--tool-arg", arg]));
      expect(code).toBe(0);
      return json.result!.content![0]!.text;
    };
    expect(await call("write", "path=/notes/hello.md", "content=hello from the Inspector")).toBe("Wrote 24 bytes to /notes/hello.md (new file)");
    expect(await call("read", "path=/notes/hello.md")).toBe("     1\thello from the Inspector");
    expect(await call("ls", "path=/notes")).toMatch(/^\/notes \(1 entry\)\n-rw-r--r-- +24 B .* hello\.md$/);
  });

  it("reports a failing tool with isError, the errno sentence and exit code 5", async () => {
    const { code, json } = await inspector(`${open.url}/w/inspected/mcp`, "--method", "tools/call", "--tool-name", "read", "--tool-arg", "path=/nope.md");
    expect(code).toBe(5);
    expect(json.result).toEqual({ content: [{ type: "text", text: "ENOENT: /nope.md does not exist" }], isError: true });
  });

  it("sends a workspace's token with --header, and is refused without it or for another workspace", async () => {
    const token = await scopedToken(SECRET, "private");
    const header = `Authorization: Bearer ${token}`;
    const listed = await inspector("--transport", "http", "--server-url", `${locked.url}/w/private/mcp`, "--header", header, "--method", "tools/list");
    expect(listed.code).toBe(0);
    expect(listed.json.result!.tools).toHaveLength(24);
    // --stored-auth-only: a 401 fails at once instead of starting an interactive OAuth login.
    const refused = await inspector("--transport", "http", "--server-url", `${locked.url}/w/private/mcp`, "--stored-auth-only", "--method", "tools/list");
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/auth_required.*A valid bearer token for workspace private is required/);
    const elsewhere = await inspector(
      "--transport",
      "http",
      "--server-url",
      `${locked.url}/w/public/mcp`,
      "--header",
      header,
      "--stored-auth-only",
      "--method",
      "tools/list",
    );
    expect(elsewhere.code).toBe(3);
  });
});
