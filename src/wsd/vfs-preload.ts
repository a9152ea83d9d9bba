/**
 * Loaded with `node --import` by `wsd run --vfs`: mounts the workspace named in the environment
 * in this process before the program starts, and takes those variables out of the environment
 * (so the program's own child processes do not mount it again). Failing, it says why in one
 * sentence and exits with 1.
 */
import { messageOf } from "../workspace-do/errors.ts";
import { mountWorkspaceVfs } from "./vfs.ts";
import { VFS_ENV } from "./vfs-env.ts";

const url = process.env[VFS_ENV.url];
if (url) {
  const { [VFS_ENV.cache]: cache, [VFS_ENV.mountPoint]: mountPoint, [VFS_ENV.verbose]: verbose, WSD_TOKEN: token } = process.env;
  for (const name of Object.values(VFS_ENV)) delete process.env[name];
  try {
    await mountWorkspaceVfs({
      url,
      token,
      cache,
      mountPoint,
      // Quiet unless asked: the program's stderr is its own. Conflicts are always reported.
      log: (line) => (verbose || line.startsWith("conflict:")) && console.error(`wsd: ${line}`),
    });
  } catch (error) {
    console.error(`wsd: cannot mount ${url} in this process: ${messageOf(error)}`);
    process.exit(1);
  }
}
