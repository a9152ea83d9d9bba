import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One chat completions request as the scripted model saw it. */
export interface ModelRequest {
  model: string;
  messages: { role: string; content?: string | null; tool_calls?: unknown[]; tool_call_id?: string }[];
  tools?: { function: { name: string } }[];
}

/** What the model answers at one step: tool calls, or a final text. */
export type ModelReply = { toolCalls: { name: string; args: Record<string, unknown> }[] } | { text: string };

export interface ScriptedModel {
  /** An OpenAI-compatible base URL (`.../v1`). */
  baseUrl: string;
  /** Every request received, in order. */
  requests: ModelRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP server speaking OpenAI's chat completions API whose replies come from `script`:
 * called with each request (the conversation so far), it decides the next reply. Tests drive
 * the coding agent's real provider code and tool loop with it, no model or key needed.
 */
export async function startScriptedModel(script: (request: ModelRequest) => ModelReply): Promise<ScriptedModel> {
  const requests: ModelRequest[] = [];
  let calls = 0;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (data) => (body += data));
    req.on("end", () => {
      if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
        res.writeHead(404).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
        return;
      }
      const request = JSON.parse(body) as ModelRequest;
      requests.push(request);
      let reply: ModelReply;
      try {
        reply = script(request);
      } catch (error) {
        res.writeHead(500, { "Content-Type": "application/json" }).end(JSON.stringify({ error: { message: String(error) } }));
        return;
      }
      const message =
        "text" in reply
          ? { role: "assistant", content: reply.text }
          : {
              role: "assistant",
              content: null,
              tool_calls: reply.toolCalls.map((call) => ({
                id: `call_${++calls}`,
                type: "function",
                function: { name: call.name, arguments: JSON.stringify(call.args) },
              })),
            };
      res.writeHead(200, { "Content-Type": "application/json" }).end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: "chat.completion",
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          choices: [{ index: 0, message, finish_reason: "text" in reply ? "stop" : "tool_calls" }],
          usage: { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
