import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fuseMounts } from "./fuse-binding.ts";

/**
 * What `wsd status` shows of a running mount. Each `wsd mount` keeps one small JSON file in a
 * per-user runtime directory, rewritten (at most twice a second) as its state changes, and
 * removes it when it stops; `wsd status` reads them and checks each against its process and
 * /proc/mounts.
 */
export interface MountStatus {
  pid: number;
  url: string;
  mountpoint: string;
  cache: string;
  name: string;
  exec: boolean;
  /** "stopped": the mount is gone and `pushed`/`kept` say how it ended (the process exits next). */
  state: "connecting" | "connected" | "reconnecting" | "stopped";
  /** The object revision the replica holds. */
  rev: number;
  /** Local changes not yet in the object (counted up to 1,000). */
  pending: number;
  conflicts: number;
  /** Bytes the replica takes on disk (database and WAL). */
  cacheBytes?: number;
  /** When `state` last changed (ISO 8601). */
  since: string;
  /** Once stopped: the changes the last push sent, and those kept in the replica for the next mount. */
  pushed?: number;
  kept?: number;
}

/** How a mount ended: what its last push sent, and what stays in the replica for the next mount. */
export interface StopSummary {
  pushed: number;
  kept: number;
}

const WRITE_INTERVAL_MS = 500;
/** `pending` counts local changes up to this many. */
export const PENDING_COUNTED = 1000;

export const statusDirectory = (): string => join(process.env.XDG_RUNTIME_DIR ?? tmpdir(), `wsd-${process.getuid?.() ?? "user"}`);

/** Status files this process made: a process may run more than one mount (wsd as a library). */
let statusFilesMade = 0;

/** The status file of one mount of this process. */
export class StatusFile {
  readonly #path: string;
  #status: MountStatus;
  readonly #pending: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(status: Omit<MountStatus, "pid" | "since" | "pending">, pending: () => number) {
    mkdirSync(statusDirectory(), { recursive: true, mode: 0o700 });
    this.#path = join(statusDirectory(), `${process.pid}-${++statusFilesMade}.json`);
    this.#pending = pending;
    this.#status = { ...status, pid: process.pid, pending: 0, since: new Date().toISOString() };
    this.#write();
  }

  /** Records a change; the file follows within half a second. */
  update(patch: Partial<Pick<MountStatus, "state" | "rev" | "conflicts">>): void {
    const since = patch.state && patch.state !== this.#status.state ? new Date().toISOString() : this.#status.since;
    this.#status = { ...this.#status, ...patch, since };
    this.#timer ??= setTimeout(() => this.#write(), WRITE_INTERVAL_MS);
  }

  /**
   * The mount is gone: records how it ended, for `wsd unmount` to report. `wsd status` no longer
   * lists it, and the file goes with the process.
   */
  finish(summary: StopSummary): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#status = { ...this.#status, ...summary, state: "stopped", since: new Date().toISOString() };
    this.#write();
  }

  #write(): void {
    this.#timer = undefined;
    if (this.#status.state !== "stopped") {
      this.#status.pending = this.#pending();
      this.#status.cacheBytes = replicaBytes(this.#status.cache);
    }
    // Written aside and renamed, so a reader never sees half a file.
    writeFileSync(`${this.#path}.tmp`, JSON.stringify(this.#status));
    renameSync(`${this.#path}.tmp`, this.#path);
  }
}

/** The replica's files in `cache` (database, WAL and shared memory), in bytes. */
function replicaBytes(cache: string): number {
  let bytes = 0;
  for (const name of readdirSync(cache)) if (name.startsWith("replica.db")) bytes += statSync(join(cache, name), { throwIfNoEntry: false })?.size ?? 0;
  return bytes;
}

/** One line per wsd mount of this user, from the status files, their processes and /proc/mounts. */
export async function statusLines(): Promise<string[]> {
  const mounted = new Set((await fuseMounts()).filter(({ source }) => source.startsWith("wsd")).map(({ mountpoint }) => mountpoint));
  const lines: string[] = [];
  const described = new Set<string>();
  for (const status of readStatuses()) {
    described.add(status.mountpoint);
    const where = mounted.has(status.mountpoint) ? status.mountpoint : `${status.mountpoint} (not mounted)`;
    const pending = status.pending >= PENDING_COUNTED ? `${PENDING_COUNTED}+` : String(status.pending);
    const cache = status.cacheBytes === undefined ? "" : `  cache ${(status.cacheBytes / 1024 / 1024).toFixed(1)} MiB`;
    lines.push(
      `${where}  ${status.url}  ${status.state} since ${status.since}  rev ${status.rev}  pending ${pending}  conflicts ${status.conflicts}${cache}  name ${status.name}  exec ${status.exec ? "on" : "off"}  pid ${status.pid}`,
    );
  }
  for (const mountpoint of mounted)
    if (!described.has(mountpoint)) lines.push(`${mountpoint}  (a wsd mount whose process is gone or belongs to another user; wsd unmount clears it)`);
  return lines.length ? lines : ["no wsd mounts"];
}

/**
 * The status of every wsd mount of this user, from the status files of live processes (files of
 * processes that are gone are removed). A mount that has stopped is left out.
 */
export function readStatuses(): (MountStatus & { file: string })[] {
  let names: string[];
  try {
    names = readdirSync(statusDirectory()).filter((name) => /^\d+(-\d+)?\.json$/.test(name));
  } catch {
    return [];
  }
  const statuses: (MountStatus & { file: string })[] = [];
  for (const name of names) {
    const path = join(statusDirectory(), name);
    try {
      const status = JSON.parse(readFileSync(path, "utf8")) as MountStatus;
      process.kill(status.pid, 0);
      if (status.state !== "stopped") statuses.push({ ...status, file: path });
    } catch {
      rmSync(path, { force: true });
    }
  }
  return statuses.sort((a, b) => a.mountpoint.localeCompare(b.mountpoint));
}

/** A stopped mount's last word, read once: its file is removed. Undefined if it left none. */
export function takeStopSummary(file: string): StopSummary | undefined {
  try {
    const status = JSON.parse(readFileSync(file, "utf8")) as MountStatus;
    rmSync(file, { force: true });
    return status.state === "stopped" ? { pushed: status.pushed ?? 0, kept: status.kept ?? 0 } : undefined;
  } catch {
    return undefined;
  }
}
