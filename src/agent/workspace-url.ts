/** A workspace's name: 1 to 63 letters, digits, `.`, `_` or `-`, starting with a letter or digit. */
export const WORKSPACE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** `/w/<name>/<rest>` into its parts; the Worker has checked the name. */
export function splitWorkspaceUrl(pathname: string): { name: string; rest: string } {
  const match = /^\/w\/([^/]+)(\/.*)?$/.exec(pathname);
  return { name: match?.[1] ?? "", rest: match?.[2] ?? "/" };
}
