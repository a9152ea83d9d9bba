import type { ChangeEntry, WorkspaceFs } from "./engine.ts";
import { parentOf } from "./paths.ts";

/**
 * Applying a peer's change log: makes each path hold the state its entry describes (or makes
 * it absent, for a tombstone). State-based, so applying an entry twice changes nothing, and a
 * page applies as one batch: all of it or none.
 *
 * The chunks a file entry names must be stored here already (or held in an upload, see
 * `WorkspaceFs.openUpload`): ask `missingChunks`, fetch those, stage them, then apply.
 */
export function applyChanges(fs: WorkspaceFs, entries: ChangeEntry[], options: { record?: boolean } = {}): void {
  fs.batch(() => {
    for (const entry of entries) applyEntry(fs, entry);
  }, options);
}

/** Makes one path hold the state `entry` describes; call it inside a batch. */
export function applyEntry(fs: WorkspaceFs, entry: ChangeEntry): void {
  const { path } = entry;
  // A path a pull or push brings is often new: finding it absent builds no error.
  const current = fs.lstatIfExists(path);
  if (entry.deleted) {
    if (current) fs.rm(path, { recursive: true });
    return;
  }
  const { stats } = entry;
  const owner = { uid: stats.uid, gid: stats.gid };
  // A path that changed type is replaced whole; a symlink when its target changed, a device when its number did.
  const stale =
    current !== undefined &&
    // (A peer built before device numbers sends no rdev: that is 0, not a change.)
    (current.type !== stats.type || current.rdev !== (stats.rdev ?? 0) || (stats.type === "symlink" && fs.readlink(path) !== entry.target));
  if (stale) fs.rm(path, { recursive: true });
  const present = current !== undefined && !stale;
  switch (stats.type) {
    case "directory":
      // Missing parents as `parents` makes them (0o755, root's); mode and owner are the directory's own.
      if (path !== "/") fs.mkdir(parentOf(path), { recursive: true });
      fs.mkdir(path, { recursive: true, mode: stats.mode, owner });
      break;
    case "symlink":
      if (!present) fs.symlink(entry.target!, path, { owner, parents: true });
      break;
    case "file":
      fs.writeFileChunks(path, entry.chunks ?? [], stats.size, { mode: stats.mode, owner, parents: true });
      break;
    default:
      if (!present) fs.mknod(path, stats.type, { mode: stats.mode, rdev: stats.rdev ?? 0, owner, parents: true });
  }
  // Only what differs: each call is a write (and mode and owner are usually right already).
  // Never through a symlink: the entry describes the link itself (whose mode is always 0o777).
  const now = fs.lstat(path);
  if (now.mode !== stats.mode && stats.type !== "symlink") fs.chmod(path, stats.mode);
  if (now.uid !== stats.uid || now.gid !== stats.gid) fs.lchown(path, stats.uid, stats.gid);
  if (now.atimeMs !== stats.atimeMs || now.mtimeMs !== stats.mtimeMs) fs.lutimes(path, stats.atimeMs, stats.mtimeMs);
}

/** Every chunk hash the entries name (what a peer must have before it applies them). */
export const chunksNamed = (entries: ChangeEntry[]): string[] => entries.flatMap((entry) => (entry.deleted ? [] : (entry.chunks ?? [])));
