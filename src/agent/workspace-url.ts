/** `/w/<name>/<rest>` into its parts; the Worker has checked the name. */
export function splitWorkspaceUrl(pathname: string): { name: string; rest: string } {
  const match = /^\/w\/([^/]+)(\/.*)?$/.exec(pathname);
  return { name: match?.[1] ?? "", rest: match?.[2] ?? "/" };
}
