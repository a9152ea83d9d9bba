/**
 * Reference mode: a task's scripted tool calls, one after another, each checked against what
 * it expects (success unless `expect.error`; `expect.matches` on its text). The first call that
 * does not do what it expects stops the script: the task fails with that step named.
 */
import { callTool, clip, type SolveRecord, type ToolClient } from "./calls.ts";

export interface ScriptedStep {
  tool: string;
  args: Record<string, unknown>;
  expect?: { error?: boolean; matches?: string };
}

/** `matchText`: apply `expect.matches` (false for a server whose wording the steps were not written for). */
export async function runSteps(client: ToolClient, steps: ScriptedStep[], options: { matchText: boolean }): Promise<SolveRecord> {
  const record: SolveRecord = { toolCalls: 0, toolErrors: [] };
  for (const [i, step] of steps.entries()) {
    const reply = await callTool(client, step.tool, step.args);
    record.toolCalls++;
    if (reply.isError) record.toolErrors.push(reply.text);
    const wantError = step.expect?.error === true;
    const name = `step ${i + 1} (${step.tool})`;
    if (reply.isError !== wantError) {
      record.failure = wantError ? `${name} should have failed, but it answered: ${clip(reply.text)}` : `${name} failed: ${clip(reply.text)}`;
      break;
    }
    if (options.matchText && step.expect?.matches !== undefined && !new RegExp(step.expect.matches, "m").test(reply.text)) {
      record.failure = `${name} answered text that does not match /${step.expect.matches}/: ${clip(reply.text)}`;
      break;
    }
  }
  return record;
}
