import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

/** A real `wrangler dev` of this repository's Worker, on free ports, with state in `persistTo`. */
export interface DevServer {
  url: string;
  stop(): Promise<void>;
}

// wrangler exports no bin path: find it beside its package.json.
const wrangler = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin/wrangler.js");

/**
 * `port`: reuse one (a restarted server at the same address); default a free one. `configs`:
 * wrangler configs run together in one process (`-c` each; the first is served, and must answer
 * `/health`); default this repository's wrangler.jsonc. `vars`: extra Worker variables.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  try {
    return await launch(options);
  } catch (error) {
    if (!(error instanceof ExitedEarly)) throw error;
    // A free port can be taken between finding it and wrangler binding it: try once more.
    await new Promise((resolve) => setTimeout(resolve, 500));
    return launch(options);
  }
}

interface DevServerOptions {
  persistTo: string;
  /** The WORKSPACE_TOKEN secret; without it the server is open (as `npm start` runs it) unless `open` is false. */
  token?: string;
  /** False serves as deployed without a secret: closed. */
  open?: boolean;
  port?: number;
  configs?: string[];
  vars?: Record<string, string>;
}

class ExitedEarly extends Error {}

async function launch(options: DevServerOptions): Promise<DevServer> {
  const [port, inspectorPort] = [options.port ?? (await freePort()), await freePort()];
  const args = [
    wrangler,
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    options.persistTo,
    "--log-level",
    "warn",
    "--show-interactive-dev-session=false",
    ...(options.configs ?? []).flatMap((config) => ["-c", config]),
  ];
  if (options.token) args.push("--var", `WORKSPACE_TOKEN:${options.token}`);
  else if (options.open !== false) args.push("--var", "WORKSPACE_OPEN:1");
  for (const [name, value] of Object.entries(options.vars ?? {})) args.push("--var", `${name}:${value}`);
  // Its own process group, so stopping it also stops the workerd processes it starts.
  const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  let output = "";
  child.stdout!.on("data", (data) => (output += data));
  child.stderr!.on("data", (data) => (output += data));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  while (true) {
    if (child.exitCode !== null) throw new ExitedEarly(`wrangler dev exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop(child);
      throw new Error(`wrangler dev did not answer on ${url} within 90 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, stop: () => stop(child) };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(-child.pid!, "SIGTERM");
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A connected MCP client (the official SDK's, over streamable HTTP) for one workspace. */
export async function connectMcp(url: string, workspace: string, token?: string): Promise<Client> {
  const client = new Client({ name: "workspace-tests", version: "1.0.0" });
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/w/${workspace}/mcp`), { requestInit: { headers } }));
  return client;
}

/** Calls one tool and returns its text; a tool error (`isError`) is thrown with its text. */
export async function callTool(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const result = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: { type: string; text?: string }[] };
  const text = result.content.map((part) => part.text ?? "").join("\n");
  if (result.isError) throw new Error(text);
  return text;
}
