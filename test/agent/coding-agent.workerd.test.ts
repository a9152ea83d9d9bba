import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("the coding agent without a model", () => {
  it("says how to configure one, and keeps nothing of the failed turn", async () => {
    const response = await SELF.fetch("http://workspace.test/w/no-model/agent", { method: "POST", body: JSON.stringify({ message: "hi" }) });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: "EINVAL",
      message:
        "EINVAL: (agent model) no model is configured; set AGENT_PROVIDER (workers-ai, openai or anthropic) with AGENT_MODEL and AGENT_API_KEY, or add an AI binding",
    });
    const transcript = await (await SELF.fetch("http://workspace.test/w/no-model/agent")).json();
    expect(transcript).toEqual({ workspace: "no-model", messages: [] });
  });
});
