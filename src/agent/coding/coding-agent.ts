import { Agent, getAgentByName } from "agents";
import { generateText, type ModelMessage, stepCountIs } from "ai";
import { FsError } from "../../workspace-do/errors.ts";
import { errorResponse, responseForError } from "../http.ts";
import { splitWorkspaceUrl } from "../workspace-url.ts";
import { workspaceTools } from "./ai-tools.ts";
import type { CodingAgentEnv } from "./coding-env.ts";
import { modelFromEnv } from "./model.ts";

const SYSTEM_PROMPT = `You are a coding agent working in a shared workspace: a file tree that people and other agents also edit.
Read before you edit: use ls, tree, find and grep to look around and read to see a file with line numbers.
Change files with edit (exact text replacements) or write (whole files); create directories with mkdir.
Run code with exec: it runs a shell command in a sandbox that has the workspace mounted, at the workspace root, and tells you the exit code, the output and which files changed. Run the project's tests after a change.
Finish with a short summary of what you changed and how you checked it.`;

/** Steps (model calls) per turn unless the request says otherwise, and the most it may ask for. */
const STEPS = { default: 25, max: 100 };

export interface TurnRequest {
  message: string;
  maxSteps?: number;
}

export interface TurnResult {
  text: string;
  steps: { tools: { name: string; input: unknown; output: string }[] }[];
  usage: { inputTokens: number; outputTokens: number };
}

/**
 * A coding agent for one workspace (and one conversation): the workspace's own tools, exec
 * included, as AI SDK tools in a `generateText` loop. Its transcript lives in the object's
 * SQLite, so the conversation survives restarts and each turn continues it.
 *
 * Reached at `/w/<workspace>/agent` (conversation "default") or `/w/<workspace>/agent/<name>`:
 * POST `{ message, maxSteps? }` runs one turn, GET answers the transcript, DELETE clears it.
 */
export class CodingAgent extends Agent<CodingAgentEnv> {
  /** Turns run one at a time; a second POST waits for the first. */
  #turns: Promise<unknown> = Promise.resolve();

  override async onStart(): Promise<void> {
    this.sql`CREATE TABLE IF NOT EXISTS transcript (seq INTEGER PRIMARY KEY, message TEXT NOT NULL)`;
  }

  override async onRequest(request: Request): Promise<Response> {
    const { name: workspace } = splitWorkspaceUrl(new URL(request.url).pathname);
    try {
      switch (request.method) {
        case "GET":
          return Response.json({ workspace, messages: this.#transcript() });
        case "DELETE":
          this.sql`DELETE FROM transcript`;
          return Response.json({ ok: true });
        case "POST": {
          const turn = parseTurn(await request.json().catch(() => undefined));
          const result = this.#turns.then(() => this.#runTurn(workspace, turn));
          // The queue only orders turns: this turn's error reaches its own caller through `await result`.
          this.#turns = result.catch(() => {});
          return Response.json(await result);
        }
        default:
          return errorResponse(405, "EINVAL", `${request.method} is not supported here; POST a message, GET the transcript or DELETE it`);
      }
    } catch (error) {
      return responseForError(error, `coding agent ${this.name}`);
    }
  }

  async #runTurn(workspace: string, turn: TurnRequest): Promise<TurnResult> {
    const model = modelFromEnv(this.env);
    const stub = await getAgentByName(this.env.WORKSPACE, workspace);
    const userMessage: ModelMessage = { role: "user", content: turn.message };
    const result = await generateText({
      model,
      system: SYSTEM_PROMPT,
      messages: [...this.#transcript(), userMessage],
      tools: workspaceTools((name, args) => stub.callTool(name, args)),
      stopWhen: stepCountIs(Math.min(turn.maxSteps ?? STEPS.default, STEPS.max)),
    });
    // The turn is kept only once it completed: a failed model call leaves the transcript as it was.
    for (const message of [userMessage, ...result.responseMessages]) this.sql`INSERT INTO transcript (message) VALUES (${JSON.stringify(message)})`;
    return {
      text: result.text,
      steps: result.steps.map((step) => ({
        tools: step.toolResults.map((call) => ({ name: call.toolName, input: call.input, output: String(call.output) })),
      })),
      usage: { inputTokens: result.totalUsage.inputTokens ?? 0, outputTokens: result.totalUsage.outputTokens ?? 0 },
    };
  }

  #transcript(): ModelMessage[] {
    return this.sql<{ message: string }>`SELECT message FROM transcript ORDER BY seq`.map((row) => JSON.parse(row.message) as ModelMessage);
  }
}

function parseTurn(body: unknown): TurnRequest {
  const turn = body as Partial<TurnRequest> | undefined;
  if (typeof turn?.message !== "string" || turn.message.trim() === "") {
    throw new FsError("EINVAL", "(agent)", 'needs a JSON body { "message": "what to do" }');
  }
  if (turn.maxSteps !== undefined && (!Number.isInteger(turn.maxSteps) || turn.maxSteps < 1)) {
    throw new FsError("EINVAL", "(agent)", `cannot take maxSteps ${JSON.stringify(turn.maxSteps)}; give a whole number from 1 to ${STEPS.max}`);
  }
  return { message: turn.message, maxSteps: turn.maxSteps };
}
