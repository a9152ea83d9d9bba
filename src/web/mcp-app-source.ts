import type { App } from "@modelcontextprotocol/ext-apps";
import { resourceUri } from "../mcp/resource-uri.ts";
import type { Checkpoint, Entry, FeedEntry, SearchHit, Source, Version, WorkspaceSource } from "./source.ts";

/**
 * The web view's data inside an AI client, as an MCP App: every read is one of the workspace's
 * MCP tools (or a resource read), called through the host, so the view sees exactly what the
 * model's tools see and needs no token or network of its own. The host relays no notifications
 * from the server, so the live changes are polled from `history`.
 */

const POLL_MS = 1500;

type Call = { content?: { type: string; text?: string }[]; structuredContent?: Record<string, unknown>; isError?: boolean };
type HistoryOutput = {
  rev: number;
  entries: { rev: number; at?: string; path: string; change: FeedEntry["change"]; type?: string; size?: number; source?: Source }[];
  checkpoints: { id: number; rev: number; at: string; label: string; auto: boolean }[];
};

const textOf = (result: Call) => (result.content ?? []).map((part) => part.text ?? "").join("\n");
const ms = (iso?: string) => (iso === undefined ? undefined : Date.parse(iso));

export function mcpAppSource(app: App, name: () => string): WorkspaceSource {
  const call = async <T>(tool: string, args: Record<string, unknown>): Promise<{ structured: T; text: string }> => {
    const result = (await app.callServerTool({ name: tool, arguments: args })) as Call;
    if (result.isError) throw new Error(textOf(result));
    return { structured: result.structuredContent as T, text: textOf(result) };
  };
  const history = async (args: Record<string, unknown>) => (await call<HistoryOutput>("history", args)).structured;
  const versions = (page: HistoryOutput): FeedEntry[] => page.entries.map((entry) => ({ ...entry, at: ms(entry.at) }));

  return {
    get name() {
      return name();
    },
    revision: async () => (await history({ limit: 1 })).rev,
    list: async (dir) => (await call<{ entries: Entry[] }>("ls", { path: dir, limit: 10_000 })).structured.entries,
    readFile: async (path) => {
      const [content] = (await app.readServerResource({ uri: resourceUri(path) })).contents as ({ text: string } | { blob: string })[];
      if (content && "text" in content) return new TextEncoder().encode(content.text);
      return Uint8Array.from(atob(content?.blob ?? ""), (char) => char.charCodeAt(0));
    },
    search: async (mode, query): Promise<SearchHit[]> => {
      if (mode === "find") return (await call<{ matches: SearchHit[] }>("find", { pattern: query })).structured.matches;
      return (await call<{ matches?: SearchHit[] }>("grep", { pattern: query, literal: true })).structured.matches ?? [];
    },
    history: async (path) => {
      const page = await history(path === undefined ? { limit: 1 } : { path, limit: 50 });
      const checkpoints: Checkpoint[] = page.checkpoints.map((checkpoint) => ({ ...checkpoint, at: Date.parse(checkpoint.at) }));
      return { entries: versions(page) as Version[], checkpoints };
    },
    // The diff tool's text: its unified diff, after a line naming the change.
    diff: async (from, to, path) => (await call("diff", { from, to, path })).text,
    restore: async (to, path) => {
      await call("restore", path === undefined ? { to } : { to, path });
    },
    follow: (since, onEntry) => {
      let last = since;
      let stopped = false;
      const poll = async () => {
        while (!stopped) {
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          try {
            const page = await history({ limit: 200 });
            const fresh = versions(page).filter((entry) => entry.rev > last);
            for (const entry of fresh.reverse()) onEntry(entry);
            last = Math.max(last, page.rev);
          } catch {
            // The host may be busy or the frame hidden; the next poll tries again.
          }
        }
      };
      void poll();
      return () => {
        stopped = true;
      };
    },
  };
}
