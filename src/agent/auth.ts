/**
 * Bearer tokens for `/w/*`. With the `WORKSPACE_TOKEN` secret set, a request must carry either
 * the secret itself (opens every workspace) or a token scoped to one workspace: the hex
 * HMAC-SHA256 of `workspace:<name>` under the secret (`npm run token -- <name>` prints it).
 * Without the secret the server is closed, unless `WORKSPACE_OPEN` is "1" (local development,
 * set by `npm start`, never in the deployed configuration).
 */

import { scopedToken } from "./scoped-token.ts";

const encoder = new TextEncoder();

/** How the server is set up to let requests in. */
export interface AuthSettings {
  /** The `WORKSPACE_TOKEN` secret. */
  secret?: string;
  /** True serves every workspace without a token when there is no secret (local development). */
  open: boolean;
}

/**
 * Why `request` may not open workspace `name`, as the response to send; undefined when it may.
 * A server with neither a secret nor `open` refuses everything with a 503 that says what to set.
 */
export async function refusal(request: Request, settings: AuthSettings, name: string): Promise<Response | undefined> {
  if (!settings.secret) {
    if (settings.open) return undefined;
    return Response.json(
      {
        error: "EACCES",
        message:
          "This server opens no workspace: it has no WORKSPACE_TOKEN secret. Set one with `npx wrangler secret put WORKSPACE_TOKEN` and send it as a bearer token (locally, put it in .dev.vars or use npm start)",
      },
      { status: 503 },
    );
  }
  if (await isAuthorized(request, settings.secret, name)) return undefined;
  return Response.json(
    { error: "EACCES", message: `A valid bearer token for workspace ${name} is required` },
    { status: 401, headers: { "WWW-Authenticate": `Bearer realm="workspace ${name}"` } },
  );
}

/** True when `request` carries the secret or the token scoped to workspace `name`. */
async function isAuthorized(request: Request, secret: string, name: string): Promise<boolean> {
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
