/**
 * The web view's side of the workspace's HTTP routes: the token (kept in this tab's session
 * storage, never in the URL), JSON and text reads, and the change feed read as server-sent events
 * over fetch (EventSource cannot send an Authorization header).
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
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
  get needsToken(): boolean {
    return this.status === 401 || this.status === 503;
  }
}

const base = () => `/w/${workspaceName()}`;
const headers = (): Record<string, string> => {
  const value = token.get();
  return value ? { Authorization: `Bearer ${value}` } : {};
};

export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(`${base()}${path}`, { ...init, headers: { ...headers(), ...(init.headers as Record<string, string>) } });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
    throw new ApiError(response.status, body.error ?? "EIO", body.message ?? `${response.status} ${response.statusText}`);
  }
  return response;
}

export const getJson = async <T>(path: string): Promise<T> => (await request(path)).json() as Promise<T>;
export const postJson = async <T>(path: string, body: unknown): Promise<T> =>
  (await request(path, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } })).json() as Promise<T>;

export const filePath = (path: string) => `/files${path.split("/").map(encodeURIComponent).join("/")}`;

export interface FeedEntry {
  rev: number;
  at?: number;
  path: string;
  change: "added" | "changed" | "deleted" | "metadata";
  type?: string;
  size?: number;
  source?: { kind: string; name?: string; call?: string; detail?: string };
}

/**
 * Follows the change feed from revision `since`: each entry to `onEntry`, reconnecting (from the
 * last revision seen) when the stream ends. Answers a function that stops it.
 */
export function followChanges(since: number, onEntry: (entry: FeedEntry) => void): () => void {
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
