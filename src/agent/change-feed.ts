import type { HistoryEntry, WorkspaceHistory } from "../workspace-do/engine.ts";

/** One change as the feed gives it: what changed, when, how big, and who did it (no chunk lists). */
export const feedEntry = ({ rev, at, path, change, state, source }: HistoryEntry) => ({
  rev,
  ...(at === undefined ? {} : { at }),
  path,
  change,
  ...(state ? { type: state.type, size: state.size, mode: state.mode } : {}),
  ...(source ? { source } : {}),
});

/** Calls `listener` after every new revision; answers how to stop. */
export type Subscribe = (listener: () => void) => () => void;

const KEEP_ALIVE_MS = 15_000;
const encoder = new TextEncoder();

/**
 * The change feed as server-sent events: every change after `since` (event `change`, `id` its
 * revision, data the {@link feedEntry}), then each new one as it commits. A client that
 * reconnects sends `Last-Event-ID` and misses nothing; a comment every 15 s keeps proxies from
 * closing an idle stream. `since` is checked before the stream starts (a bad one is a plain
 * error answer).
 */
export function changeStream(history: WorkspaceHistory, since: number, subscribe: Subscribe): Response {
  history.changes(since, 1);
  let cursor = since;
  let stop = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = () => {
        for (let more = true; more; ) {
          const page = history.changes(cursor, 500);
          for (const entry of page.entries) {
            controller.enqueue(encoder.encode(`id: ${entry.rev}\nevent: change\ndata: ${JSON.stringify(feedEntry(entry))}\n\n`));
          }
          cursor = page.rev;
          more = page.more;
        }
      };
      send();
      const unsubscribe = subscribe(send);
      const keepAlive = setInterval(() => controller.enqueue(encoder.encode(": keep-alive\n\n")), KEEP_ALIVE_MS);
      stop = () => {
        unsubscribe();
        clearInterval(keepAlive);
      };
    },
    cancel() {
      stop();
    },
  });
  return new Response(stream, { headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" } });
}
