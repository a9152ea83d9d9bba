const encoder = new TextEncoder();

/**
 * The token that opens workspace `name`, and no other: the hex HMAC-SHA256 of `workspace:<name>`
 * under the `WORKSPACE_TOKEN` secret. Web Crypto only, so the Worker, `npm run token` and the
 * tests share it.
 */
export async function scopedToken(secret: string, name: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`workspace:${name}`));
  return [...new Uint8Array(mac)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
