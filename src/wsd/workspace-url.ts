import { homedir } from "node:os";
import { join } from "node:path";
import { FsError } from "../workspace-do/errors.ts";

/** A workspace URL's parts; throws EINVAL when it is not `http(s)://host/w/<workspace>`. */
export function parseWorkspaceUrl(workspaceUrl: string): { base: string; name: string; host: string } {
  let url: URL | undefined;
  try {
    url = new URL(workspaceUrl);
  } catch {
    // reported below
  }
  const name = url && /^\/w\/([^/]+)\/?$/.exec(url.pathname)?.[1];
  if (!url || !name || !/^https?:$/.test(url.protocol)) {
    throw new FsError("EINVAL", workspaceUrl, "is not a workspace URL; give http(s)://host/w/<workspace>");
  }
  return { base: `${url.origin}/w/${name}`, name, host: url.host };
}

/** Where a workspace's replica lives unless `--cache` says otherwise. */
export function defaultCacheDirectory(workspaceUrl: string): string {
  const { host, name } = parseWorkspaceUrl(workspaceUrl);
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "wsd", `${host.replace(/[^\w.-]/g, "_")}-${name}`);
}
