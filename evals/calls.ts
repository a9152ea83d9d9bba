/**
 * Calling MCP tools the same way whichever client holds the connection (the MCP SDK's `Client`
 * or the AI SDK's MCP client: both take `{ name, arguments }`), and what a solver reports.
 */

export interface ToolClient {
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
}

export interface ToolReply {
  isError: boolean;
  /** The text parts, joined; other parts as `[image image/png]` and the like. */
  text: string;
  structuredContent?: unknown;
}

/** What solving a task did, whoever solved it. */
export interface SolveRecord {
  toolCalls: number;
  /** The text of each failed tool call, expected or not. */
  toolErrors: string[];
  /** Why the solver itself went wrong (a reference step that did not do what it expected), if it did. */
  failure?: string;
  /** Model mode only. */
  tokens?: { input: number; output: number };
}

/** Calls a tool; a protocol-level failure (invalid arguments, a dropped connection) is a failed call too. */
export async function callTool(client: ToolClient, name: string, args: Record<string, unknown>): Promise<ToolReply> {
  try {
    return toolReply(await client.callTool({ name, arguments: args }));
  } catch (error) {
    return { isError: true, text: error instanceof Error ? error.message : String(error) };
  }
}

/** A tool result as our runner reads it. */
export function toolReply(result: unknown): ToolReply {
  const { content = [], isError, structuredContent } = result as { content?: ContentPart[]; isError?: boolean; structuredContent?: unknown };
  const text = content.map((part) => (part.type === "text" ? part.text : `[${part.type}${part.mimeType ? ` ${part.mimeType}` : ""}]`)).join("\n");
  return { isError: isError === true, text, structuredContent };
}

/** A message on one line (line breaks shown as ⏎), cut to `max` characters, for reports. */
export function clip(text: string, max = 200): string {
  const line = text.replace(/\s*\n\s*/g, " ⏎ ");
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

interface ContentPart {
  type: string;
  text?: string;
  mimeType?: string;
}
