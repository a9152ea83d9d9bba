import { execFile } from "node:child_process";
import { access, constants, mkdir, readdir, stat } from "node:fs/promises";
import { promisify } from "node:util";
import { messageOf } from "../workspace-do/errors.ts";
import type { CommandUser } from "./exec.ts";
import { fuseMounts, unmount } from "./fuse-binding.ts";
import { StartError } from "./start-error.ts";

export { StartError, type StartFailure } from "./start-error.ts";

const execFileAsync = promisify(execFile);

/**
 * Checks that `mountpoint` can take a mount, before anything connects: FUSE is there and usable,
 * nothing is mounted there yet, and it is an empty directory (a mount would hide what it holds).
 * A missing directory is created; answers true then.
 */
export async function prepareMountpoint(mountpoint: string): Promise<boolean> {
  try {
    await access("/dev/fuse", constants.R_OK | constants.W_OK);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new StartError(
      "fuse",
      missing
        ? "this machine has no /dev/fuse; in a container, run it with --device /dev/fuse --cap-add SYS_ADMIN"
        : "no permission to use /dev/fuse; run wsd as root (or give this user access to /dev/fuse)",
    );
  }
  if ((await fuseMounts()).some((entry) => entry.mountpoint === mountpoint)) {
    // A mount whose daemon died (ENOTCONN) is cleared, as `wsd unmount` would; a live one is not ours to take.
    const dead = await stat(mountpoint).then(
      () => false,
      (error: NodeJS.ErrnoException) => error.code === "ENOTCONN",
    );
    if (!dead) throw new StartError("busy", `${mountpoint} already has a FUSE mount; run wsd unmount ${mountpoint} first`);
    await unmount(mountpoint);
  }
  let found: Awaited<ReturnType<typeof stat>>;
  try {
    found = await stat(mountpoint);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new StartError("mountpoint", `${mountpoint} cannot be used: ${messageOf(error)}`);
    await mkdir(mountpoint, { recursive: true });
    return true;
  }
  if (!found.isDirectory()) throw new StartError("mountpoint", `${mountpoint} is not a directory`);
  if ((await readdir(mountpoint)).length > 0) {
    throw new StartError("mountpoint", `${mountpoint} is not empty; mount on an empty directory (a mount would hide what it holds)`);
  }
  return false;
}

/**
 * Asks the workspace's `/wsd` with the token but without upgrading, so a refusal comes back with
 * its status and the server's own sentence (a WebSocket upgrade that fails says neither); 426
 * ("upgrade, please") means wsd may attach.
 */
export async function checkServer(base: string, token: string | undefined): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${base}/wsd`, { headers: token ? { Authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new StartError("unreachable", `cannot reach ${base} (${cause?.code ?? cause?.message ?? messageOf(error)}); is the server running?`);
  }
  if (response.status === 426) return;
  const said = await response
    .json()
    .then((body) => (body as { message?: string }).message)
    .catch(() => undefined);
  const sentence = said ?? `HTTP ${response.status}`;
  if (response.status === 401) {
    throw new StartError("access", `${base} refused the token: ${sentence}${token ? "" : " (give one with --token or WSD_TOKEN)"}`);
  }
  if (response.status === 403 || response.status === 503) throw new StartError("access", `${base} refused: ${sentence}`);
  if (response.status === 404 && said === undefined) throw new StartError("rejected", `${base} is not a workspace server (HTTP 404)`);
  throw new StartError("rejected", `${base} refused: ${sentence}`);
}

/** The account `name` (a user name or a numeric id) as `--exec-user` runs commands: its ids and home. */
export async function lookUpUser(name: string): Promise<CommandUser> {
  const line = await execFileAsync("getent", ["passwd", name]).then(
    ({ stdout }) => stdout.trim().split("\n")[0],
    () => undefined,
  );
  const [, , uid, gid, , home] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined) throw new StartError("usage", `--exec-user ${name} is not a user of this machine`);
  return { uid: Number(uid), gid: Number(gid), home: home || "/" };
}
