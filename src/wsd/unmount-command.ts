import { fuseMounts, unmount } from "./fuse-binding.ts";
import { readStatuses, takeStopSummary } from "./status.ts";

/**
 * `wsd unmount <dir>`: a live mount's daemon is stopped the normal way (it lands open files,
 * pushes, unmounts) and its outcome reported; a mount whose daemon is gone is only detached.
 */
export async function unmountCommand(mountpoint: string, log: (line: string) => void): Promise<number> {
  const live = readStatuses().find((status) => status.mountpoint === mountpoint);
  if (live) {
    process.kill(live.pid, "SIGTERM");
    const deadline = Date.now() + STOP_WAIT_MS;
    while (isAlive(live.pid)) {
      if (Date.now() > deadline) {
        console.error(`wsd: the wsd of ${mountpoint} (pid ${live.pid}) did not stop within ${STOP_WAIT_MS / 1000} s`);
        return 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const summary = takeStopSummary(live.file);
    const kept = summary?.kept ? `; ${summary.kept} not pushed (the server did not answer), kept in ${live.cache} for the next mount` : "";
    log(`unmounted ${mountpoint}${summary ? `; pushed ${summary.pushed} change${summary.pushed === 1 ? "" : "s"}${kept}` : ""}`);
    return 0;
  }
  if (!(await fuseMounts()).some((entry) => entry.mountpoint === mountpoint)) {
    console.error(`wsd: ${mountpoint} is not mounted`);
    return 1;
  }
  await unmount(mountpoint);
  log(`unmounted ${mountpoint} (its wsd was gone)`);
  return 0;
}

/** How long `wsd unmount` waits for a daemon to push and stop: its last push waits 5 s at most. */
const STOP_WAIT_MS = 30_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
