import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import type { LanguageModel } from "ai";
import { createWorkersAI } from "workers-ai-provider";
import { FsError } from "../../workspace-do/errors.ts";
import type { CodingAgentEnv } from "./coding-env.ts";

/**
 * The coding agent's model, from the Worker's configuration:
 *
 * - `AGENT_PROVIDER=workers-ai` (the default when an `AI` binding exists): Workers AI through
 *   the binding, `AGENT_MODEL` defaulting to {@link DEFAULT_WORKERS_AI_MODEL};
 * - `AGENT_PROVIDER=openai`: any OpenAI-compatible chat completions endpoint, `AGENT_BASE_URL`
 *   (default OpenAI's), `AGENT_API_KEY`, `AGENT_MODEL`;
 * - `AGENT_PROVIDER=anthropic`: Anthropic's Messages API or a compatible one, likewise.
 */
export const DEFAULT_WORKERS_AI_MODEL = "@cf/openai/gpt-oss-120b";

export function modelFromEnv(env: CodingAgentEnv): LanguageModel {
  const provider = env.AGENT_PROVIDER ?? (env.AI ? "workers-ai" : undefined);
  switch (provider) {
    case "workers-ai":
      if (!env.AI) throw notConfigured('AGENT_PROVIDER is workers-ai but the Worker has no AI binding; add "ai": { "binding": "AI" } to wrangler.jsonc');
      return createWorkersAI({ binding: env.AI })(env.AGENT_MODEL ?? DEFAULT_WORKERS_AI_MODEL);
    case "openai":
      return createOpenAI({ baseURL: env.AGENT_BASE_URL, apiKey: required(env, "AGENT_API_KEY") }).chat(required(env, "AGENT_MODEL"));
    case "anthropic":
      return createAnthropic({ baseURL: env.AGENT_BASE_URL, apiKey: required(env, "AGENT_API_KEY") })(required(env, "AGENT_MODEL"));
    case undefined:
      throw notConfigured(
        "no model is configured; set AGENT_PROVIDER (workers-ai, openai or anthropic) with AGENT_MODEL and AGENT_API_KEY, or add an AI binding",
      );
    default:
      throw notConfigured(`AGENT_PROVIDER "${provider}" is unknown; use workers-ai, openai or anthropic`);
  }
}

function required(env: CodingAgentEnv, name: "AGENT_API_KEY" | "AGENT_MODEL"): string {
  const value = env[name];
  if (!value) throw notConfigured(`AGENT_PROVIDER is ${env.AGENT_PROVIDER} but ${name} is not set`);
  return value;
}

const notConfigured = (sentence: string) => new FsError("EINVAL", "(agent model)", sentence);
