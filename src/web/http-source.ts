import type { Checkpoint, Entry, FeedEntry, Sandbox, SearchHit, Version, WorkspaceSource } from "./source.ts";

/**
 * The web view's data in a browser tab, from the workspace's HTTP routes: the token (kept in this
 * tab's session storage, never in the URL), JSON reads, and the change feed read as server-sent
 * events over fetch (EventSource cannot send an Authorization header).
 */

const TOKEN_KEY = "workspace-token";

export const workspaceName = (): string | undefined => /^\/w\/([^/]+)\/?$/.exec(location.pathname)?.[1];

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? undefined,
  set: (value: string) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An answer the server refused: its errno code and sentence, and whether a token would help. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The token the refused request carried (undefined: none). */
  readonly sentToken: string | undefined;
  constructor(status: number, code: string, message: string, sentToken?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.sentToken = sentToken;
  }
  /**
   * A token would help, and the one this tab has now is the one that was refused: a refusal of
   * a request sent before the user gave a token (still on its way when they did) asks nothing.
   */
  get needsToken(): boolean {
    return (this.status === 401 || this.status === 503) && this.sentToken === token.get();
  }
}

const base = () => `/w/${workspaceName()}`;
const headers = (): Record<string, string> => {
  const value = token.get();
  return value ? { Authorization: `Bearer ${value}` } : {};
};

async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const sentToken = token.get();
  const response = await fetch(`${base()}${path}`, { ...init, headers: { ...headers(), ...(init.headers as Record<string, string>) } });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
    throw new ApiError(response.status, body.error ?? "EIO", body.message ?? `${response.status} ${response.statusText}`, sentToken);
  }
  return response;
}

const getJson = async <T>(path: string): Promise<T> => (await request(path)).json() as Promise<T>;
const postJson = async <T>(path: string, body: unknown): Promise<T> =>
  (await request(path, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } })).json() as Promise<T>;

const filePath = (path: string) => `/files${path.split("/").map(encodeURIComponent).join("/")}`;

/** The workspace this tab's address names, over its routes. */
export function httpSource(name: string): WorkspaceSource {
  return {
    name,
    revision: async () => (await getJson<{ rev: number }>("/sandboxes")).rev,
    list: async (dir) => (await getJson<{ entries: Entry[] }>(filePath(dir))).entries,
    readFile: async (path) => new Uint8Array(await (await request(filePath(path))).arrayBuffer()),
    search: async (mode, query) => {
      const answer = await getJson<{ lines?: SearchHit[]; matches?: SearchHit[] }>(`/search?${mode}=${encodeURIComponent(query)}`);
      return answer.lines ?? answer.matches ?? [];
    },
    history: async (path) => {
      const page = await getJson<{ entries: Version[]; checkpoints?: Checkpoint[] }>(
        path === undefined ? "/history?limit=1" : `/history?path=${encodeURIComponent(path)}&limit=50`,
      );
      return { entries: page.entries, checkpoints: page.checkpoints ?? [] };
    },
    diff: async (from, to, path) => {
      const answer = await getJson<{ changes: { patch?: string; binary?: boolean }[] }>(`/diff?from=${from}&to=${to}&path=${encodeURIComponent(path)}`);
      return answer.changes[0]?.patch ?? (answer.changes[0]?.binary ? "(binary content changed)" : "(no content change)");
    },
    restore: async (to, path) => {
      await postJson("/restore", path === undefined ? { to } : { path, to });
    },
    sandboxes: async () => (await getJson<{ sandboxes: Sandbox[] }>("/sandboxes")).sandboxes,
    follow: followChanges,
  };
}

/**
 * Follows the change feed from revision `since`: each entry to `onEntry`, reconnecting (from the
 * last revision seen) when the stream ends. Answers a function that stops it.
 */
function followChanges(since: number, onEntry: (entry: FeedEntry) => void): () => void {
  const stop = new AbortController();
  let last = since;
  const run = async () => {
    while (!stop.signal.aborted) {
      try {
        const response = await request(`/changes?since=${last}`, { headers: { Accept: "text/event-stream" }, signal: stop.signal });
        const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = event.split("\n").find((line) => line.startsWith("data: "));
            if (!data) continue;
            const entry = JSON.parse(data.slice(6)) as FeedEntry;
            last = entry.rev;
            onEntry(entry);
          }
        }
      } catch (error) {
        if (stop.signal.aborted || (error instanceof ApiError && error.needsToken)) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };
  void run();
  return () => stop.abort();
}
