/**
 * Where the web view's data comes from, so the one view runs in two places: a browser tab over
 * the workspace's HTTP routes (http-source.ts), and an AI client's MCP App frame over the
 * workspace's MCP tools, through the host (mcp-app-source.ts).
 */

export type Entry = { name: string; type: string; size: number; mtime: string; ignored?: boolean };
export type Source = { kind: string; name?: string; call?: string; detail?: string };
export type FeedEntry = {
  rev: number;
  at?: number;
  path: string;
  change: "added" | "changed" | "deleted" | "metadata";
  type?: string;
  size?: number;
  source?: Source;
};
export type Version = { rev: number; at?: number; path: string; change: string; source?: Source };
export type Checkpoint = { id: number; rev: number; at: number; label: string; auto: boolean };
export type Sandbox = { name: string; mountpoint: string; exec: boolean; attachedAt: number; running: string[] };
export type SearchHit = { path: string; line?: number; text?: string };

export interface WorkspaceSource {
  /** The workspace's name, as its header shows it. */
  readonly name: string;
  /** The revision the workspace is at now. */
  revision(): Promise<number>;
  list(dir: string): Promise<Entry[]>;
  readFile(path: string): Promise<Uint8Array<ArrayBuffer>>;
  search(mode: "grep" | "find", query: string): Promise<SearchHit[]>;
  /** A path's versions, newest first (the whole workspace's without a path), and the checkpoints. */
  history(path?: string): Promise<{ entries: Version[]; checkpoints: Checkpoint[] }>;
  /** The unified diff of `path` from one revision to another. */
  diff(from: number, to: number, path: string): Promise<string>;
  /** Puts `path` (default the whole workspace) back as it was at `to`: a revision or `checkpoint:<id>`. */
  restore(to: number | string, path?: string): Promise<void>;
  /** The attached sandboxes (absent: this source cannot see them). */
  sandboxes?(): Promise<Sandbox[]>;
  /** Calls `onEntry` with every change after revision `since`, until the answered function is called. */
  follow(since: number, onEntry: (entry: FeedEntry) => void): () => void;
}
