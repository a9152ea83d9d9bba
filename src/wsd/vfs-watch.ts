import { EventEmitter, on } from "node:events";
import { posix } from "node:path";

/** One changed path: `rename` when it is gone (as `fs.watch` reports a removal), else `change`. */
export interface PathChange {
  path: string;
  eventType: "rename" | "change";
}

/**
 * Where `fs.watch` on the VFS hears of changes: the sync's change feed, not polling. The host
 * tells it what the replica's own change log gained (local writes) and what each pull applied;
 * every watcher whose path covers a changed path is told at once.
 */
export class WatchHub {
  readonly #watchers = new Set<ChangeWatcher>();

  /** Whether anyone listens (reading the change log costs a query per commit otherwise). */
  get listening(): boolean {
    return this.#watchers.size > 0;
  }

  changed(changes: PathChange[]): void {
    for (const watcher of this.#watchers) for (const change of changes) watcher.heard(change);
  }

  add(watcher: ChangeWatcher): void {
    this.#watchers.add(watcher);
  }

  remove(watcher: ChangeWatcher): void {
    this.#watchers.delete(watcher);
  }
}

/**
 * What `fs.watch(path)` returns for a path in the workspace: an `FSWatcher`-like emitter of
 * `change` (eventType, filename) events, the filename relative to a watched directory (its
 * direct entries, or every path below it with `recursive`) or the watched file's own name.
 */
export class ChangeWatcher extends EventEmitter {
  readonly #hub: WatchHub;
  readonly #path: string;
  readonly #directory: boolean;
  readonly #recursive: boolean;

  constructor(hub: WatchHub, path: string, directory: boolean, recursive: boolean) {
    super();
    this.#hub = hub;
    this.#path = path;
    this.#directory = directory;
    this.#recursive = recursive;
    hub.add(this);
  }

  heard({ path, eventType }: PathChange): void {
    if (!this.#directory) {
      if (path === this.#path) this.emit("change", eventType, posix.basename(path));
      return;
    }
    const relative = posix.relative(this.#path, path);
    if (relative === "" || relative.startsWith("..")) return;
    if (this.#recursive || !relative.includes("/")) this.emit("change", eventType, relative);
  }

  close(): void {
    this.#hub.remove(this);
    this.emit("close");
  }

  // The hub holds no handle that keeps the process alive: nothing to (un)ref.
  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** The promise form (`fs.promises.watch`): an async iterable of `{ eventType, filename }`. */
  async *events(): AsyncGenerator<{ eventType: string; filename: string }> {
    try {
      for await (const [eventType, filename] of on(this, "change", { close: ["close"] })) yield { eventType, filename };
    } finally {
      this.close();
    }
  }
}
