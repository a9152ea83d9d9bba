/**
 * Model mode: a language model does the task through the AI SDK (`generateText` with the
 * target's MCP tools and a step limit). The model comes from the environment:
 *
 * - `EVAL_PROVIDER`: `openai`, `anthropic` or `scripted` (default: whichever of
 *   `ANTHROPIC_API_KEY` / `OPENAI_API_KEY` is set);
 * - `EVAL_MODEL`: the model id (required for a real provider);
 * - `EVAL_BASE_URL`: an OpenAI- or Anthropic-compatible endpoint (OpenAI's is then spoken through
 *   its chat completions API, which compatible servers implement);
 * - `EVAL_MAX_STEPS`: the step limit (default 30).
 *
 * `scripted` needs no key: a stand-in model that emits a task's reference calls as its tool
 * calls, one per step, then stops; it proves the AI SDK path end to end.
 */
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import type { LanguageModelV4, LanguageModelV4GenerateResult } from "@ai-sdk/provider";
import { generateText, type LanguageModel, stepCountIs, type ToolSet } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { type SolveRecord, toolReply } from "./calls.ts";
import type { ScriptedStep } from "./reference.ts";

export interface ModelSettings {
  provider: "openai" | "anthropic" | "scripted";
  /** The model id; "reference" for the scripted model. */
  model: string;
  baseURL?: string;
  maxSteps: number;
}

/** The model the environment configures; throws a message saying what to set when it configures none. */
export function modelSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ModelSettings {
  const provider = env.EVAL_PROVIDER ?? (env.ANTHROPIC_API_KEY ? "anthropic" : env.OPENAI_API_KEY ? "openai" : undefined);
  const maxSteps = Number(env.EVAL_MAX_STEPS ?? 30);
  if (!Number.isInteger(maxSteps) || maxSteps < 1) throw new Error(`EVAL_MAX_STEPS must be a positive integer, not ${env.EVAL_MAX_STEPS}`);
  if (provider === "scripted") return { provider, model: "reference", maxSteps };
  if (provider !== "openai" && provider !== "anthropic") {
    throw new Error(
      provider === undefined
        ? "--mode model needs a model: set EVAL_PROVIDER=openai|anthropic, EVAL_MODEL and OPENAI_API_KEY or ANTHROPIC_API_KEY (or EVAL_PROVIDER=scripted to replay the reference solutions through the AI SDK)"
        : `EVAL_PROVIDER must be openai, anthropic or scripted, not ${provider}`,
    );
  }
  const key = provider === "openai" ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY";
  if (!env[key]) throw new Error(`EVAL_PROVIDER=${provider} needs ${key}`);
  if (!env.EVAL_MODEL) throw new Error(`EVAL_PROVIDER=${provider} needs EVAL_MODEL, the model id`);
  return { provider, model: env.EVAL_MODEL, baseURL: env.EVAL_BASE_URL, maxSteps };
}

/** The language model for one task; `script` is what the scripted model will call. */
export function languageModel(settings: ModelSettings, script: ScriptedStep[]): LanguageModel {
  switch (settings.provider) {
    case "scripted":
      return scriptedModel(script);
    case "openai": {
      const openai = createOpenAI({ baseURL: settings.baseURL });
      return settings.baseURL ? openai.chat(settings.model) : openai(settings.model);
    }
    case "anthropic":
      return createAnthropic({ baseURL: settings.baseURL })(settings.model);
  }
}

interface ModelTask {
  model: LanguageModel;
  tools: ToolSet;
  /** What the model is told about the tools and paths, before the task. */
  instructions: string;
  instruction: string;
  maxSteps: number;
}

/** Runs the tool loop and records its tool calls, failed calls and tokens. */
export async function runModel(task: ModelTask): Promise<SolveRecord> {
  const result = await generateText({
    model: task.model,
    tools: task.tools,
    instructions: task.instructions,
    prompt: task.instruction,
    stopWhen: stepCountIs(task.maxSteps),
  });
  const record: SolveRecord = {
    toolCalls: 0,
    toolErrors: [],
    tokens: { input: result.totalUsage.inputTokens ?? 0, output: result.totalUsage.outputTokens ?? 0 },
  };
  for (const step of result.steps) {
    record.toolCalls += step.toolCalls.length;
    for (const part of step.content) {
      if (part.type === "tool-error") record.toolErrors.push(part.error instanceof Error ? part.error.message : String(part.error));
      if (part.type === "tool-result") {
        const reply = toolReply(part.output);
        if (reply.isError) record.toolErrors.push(reply.text);
      }
    }
  }
  return record;
}

const NO_USAGE: LanguageModelV4GenerateResult["usage"] = {
  inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 0, text: 0, reasoning: 0 },
};

/** A model that calls `steps` in order, one tool call per step, whatever the tools answer; then says it is done. */
function scriptedModel(steps: ScriptedStep[]): LanguageModelV4 {
  let next = 0;
  return new MockLanguageModelV4({
    provider: "scripted",
    modelId: "reference",
    doGenerate: async (): Promise<LanguageModelV4GenerateResult> => {
      const step = steps[next++];
      if (!step) return { content: [{ type: "text", text: "Done." }], finishReason: { unified: "stop", raw: "stop" }, usage: NO_USAGE, warnings: [] };
      return {
        content: [{ type: "tool-call", toolCallId: `call-${next}`, toolName: step.tool, input: JSON.stringify(step.args) }],
        finishReason: { unified: "tool-calls", raw: "tool_calls" },
        usage: NO_USAGE,
        warnings: [],
      };
    },
  });
}
