import type { Access } from "../mcp/workspace.ts";

const encoder = new TextEncoder();

/**
 * The token that opens workspace `name`, and no other, with `access`: "full" (every tool, exec
 * included), "write" (everything but exec and the coding agent) or "read" (reading tools and GET
 * on the files route). It is the hex HMAC-SHA256 of `workspace:<name>` (full) or
 * `workspace:<name>:<access>` under the `WORKSPACE_TOKEN` secret, the narrower ones prefixed
 * `<access>.` so the server knows which to check. Web Crypto only, so the Worker,
 * `npm run token` and the tests share it.
 */
export async function scopedToken(secret: string, name: string, access: Access = "full"): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(access === "full" ? `workspace:${name}` : `workspace:${name}:${access}`));
  const hex = [...new Uint8Array(mac)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return access === "full" ? hex : `${access}.${hex}`;
}
