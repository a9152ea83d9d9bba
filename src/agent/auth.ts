/**
 * Bearer tokens for `/w/*`. With the `WORKSPACE_TOKEN` secret set, a request must carry either
 * the secret itself (opens every workspace) or a token scoped to one workspace: the hex
 * HMAC-SHA256 of `workspace:<name>` under the secret (`npm run token -- <name>` prints it).
 * Without the secret, every request is let in (local development).
 */

import { scopedToken } from "./scoped-token.ts";

const encoder = new TextEncoder();

/** True when `request` may open workspace `name` under `secret` (undefined: auth off). */
export async function isAuthorized(request: Request, secret: string | undefined, name: string): Promise<boolean> {
  if (!secret) return true;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("Authorization") ?? "");
  if (!match) return false;
  const presented = match[1]!;
  const [asSecret, asScoped] = await Promise.all([equalInConstantTime(presented, secret), equalInConstantTime(presented, await scopedToken(secret, name))]);
  return asSecret || asScoped;
}

/** Compares digests, not the strings, so neither length nor content leaks through timing. */
async function equalInConstantTime(a: string, b: string): Promise<boolean> {
  const [left, right] = await Promise.all([a, b].map((text) => crypto.subtle.digest("SHA-256", encoder.encode(text))));
  return crypto.subtle.timingSafeEqual(left!, right!);
}
