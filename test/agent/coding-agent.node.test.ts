/**
 * The coding agent end to end: a real `wrangler dev` whose agent talks to a scripted
 * OpenAI-compatible model over HTTP, real workspace tools over Durable Object RPC, and exec
 * through a real wsd mount.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectMcp, type DevServer, startDevServer } from "../../harness/dev-server.ts";
import { canMount, runningWsds, spawnWsd } from "../../harness/wsd.ts";
import { type ModelReply, type ModelRequest, type ScriptedModel, startScriptedModel } from "../support/scripted-model.ts";

const dir = mkdtempSync(join(tmpdir(), "coding-agent-"));
let server: DevServer;
let model: ScriptedModel;

/** The scripted model's side of the task: read, fix, run the tests, then report what exec said. */
function fixTheBug(request: ModelRequest): ModelReply {
  const users = request.messages.filter((message) => message.role === "user");
  if (users.length > 1) return { text: `You asked: ${users.at(-1)!.content}. Earlier I changed a - b to a + b in math.js.` };
  const toolOutputs = request.messages.filter((message) => message.role === "tool").map((message) => String(message.content));
  switch (toolOutputs.length) {
    case 0:
      return { toolCalls: [{ name: "read", args: { path: "math.js" } }] };
    case 1:
      if (!toolOutputs[0]!.includes("a - b")) return { text: "I could not find the bug." };
      return { toolCalls: [{ name: "edit", args: { path: "math.js", edits: [{ old_text: "a - b", new_text: "a + b" }] } }] };
    case 2:
      return { toolCalls: [{ name: "exec", args: { command: "node test.mjs" } }] };
    default:
      return {
        text:
          toolOutputs[2]!.startsWith("exit code 0") && toolOutputs[2]!.includes("ok") ? "Fixed add; node test.mjs passes." : `Still failing: ${toolOutputs[2]}`,
      };
  }
}

/** A turn's answer, or an error's `{ error, message }`. */
interface TurnJson {
  text: string;
  steps: { tools: { name: string }[] }[];
  usage: unknown;
  error?: string;
  message?: string;
}

async function post(path: string, body: unknown): Promise<{ status: number; json: TurnJson }> {
  const response = await fetch(`${server.url}${path}`, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  return { status: response.status, json: (await response.json()) as TurnJson };
}

describe.skipIf(!canMount)("the coding agent", () => {
  let mcp: Client;

  beforeAll(async () => {
    model = await startScriptedModel(fixTheBug);
    server = await startDevServer({
      persistTo: join(dir, "state"),
      vars: { AGENT_PROVIDER: "openai", AGENT_BASE_URL: model.baseUrl, AGENT_API_KEY: "test-key", AGENT_MODEL: "scripted" },
    });
    mcp = await connectMcp(server.url, "bugfix");
    const files = {
      "/package.json": '{ "type": "module" }\n',
      "/math.js": "export const add = (a, b) => a - b;\n",
      "/test.mjs":
        'import { add } from "./math.js";\nif (add(2, 3) !== 5) {\n  console.error("add(2, 3) is", add(2, 3));\n  process.exit(1);\n}\nconsole.log("ok");\n',
    };
    for (const [path, content] of Object.entries(files)) await mcp.callTool({ name: "write", arguments: { path, content } });
    await spawnWsd(server.url, "bugfix", join(dir, "mnt"), join(dir, "cache")).mounted();
  }, 120_000);

  afterAll(async () => {
    for (const wsd of runningWsds) await wsd.stop();
    await server?.stop();
    await model?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("fixes a bug and runs the tests through its tools, then keeps the conversation", async () => {
    const turn = await post("/w/bugfix/agent", { message: "add() in math.js is wrong; fix it and run node test.mjs" });
    expect(turn.status).toBe(200);
    expect(turn.json.text).toBe("Fixed add; node test.mjs passes.");
    expect(turn.json.steps.flatMap((step: { tools: { name: string }[] }) => step.tools.map((tool) => tool.name))).toEqual(["read", "edit", "exec"]);
    expect(turn.json.usage).toEqual({ inputTokens: 400, outputTokens: 40 });
    // The model was offered every workspace tool, and the edit is in the workspace.
    expect(model.requests[0]!.tools!.map((tool) => tool.function.name).sort()).toContain("exec");
    expect(model.requests[0]!.tools).toHaveLength(23);
    const read = (await mcp.callTool({ name: "read", arguments: { path: "/math.js" } })) as { content: { text: string }[] };
    expect(read.content[0]!.text).toBe("     1\texport const add = (a, b) => a + b;");

    const transcript = (await (await fetch(`${server.url}/w/bugfix/agent`)).json()) as { messages: { role: string }[] };
    expect(transcript.messages.map((message) => message.role)).toEqual(["user", "assistant", "tool", "assistant", "tool", "assistant", "tool", "assistant"]);

    // The next turn continues the same conversation: the model sees the first one.
    const next = await post("/w/bugfix/agent", { message: "What did you change?" });
    expect(next.json.text).toBe("You asked: What did you change?. Earlier I changed a - b to a + b in math.js.");
    expect(model.requests.at(-1)!.messages.filter((message) => message.role === "user")).toHaveLength(2);
    // Another conversation of the same workspace starts empty.
    const other = (await (await fetch(`${server.url}/w/bugfix/agent/second`)).json()) as { messages: unknown[] };
    expect(other.messages).toEqual([]);
  }, 60_000);

  it("answers clear errors for a bad request", async () => {
    const empty = await post("/w/bugfix/agent", { message: "" });
    expect(empty.status).toBe(400);
    expect(empty.json).toEqual({ error: "EINVAL", message: 'EINVAL: (agent) needs a JSON body { "message": "what to do" }' });
    const steps = await post("/w/bugfix/agent", { message: "hi", maxSteps: 0 });
    expect(steps.json.message).toMatch(/maxSteps 0/);
    const badName = await post("/w/bugfix/agent/no%20spaces", { message: "hi" });
    expect(badName.status).toBe(400);
  });
});
