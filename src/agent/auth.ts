/**
 * Bearer tokens for `/w/*`. With the `WORKSPACE_TOKEN` secret set, a request must carry either
 * the secret itself (opens every workspace) or a token scoped to one workspace, with full,
 * write or read access (scoped-token.ts; `npm run token -- <name> [--no-exec | --read-only]`).
 * Without the secret the server is closed, unless `WORKSPACE_OPEN` is "1" (local development,
 * set by `npm start`, never in the deployed configuration).
 */

import type { Access } from "../mcp/workspace.ts";
import { scopedToken } from "./scoped-token.ts";

const encoder = new TextEncoder();

/** The header in which the Worker tells a workspace's object what the request may do. */
export const ACCESS_HEADER = "X-Workspace-Access";

/** The access the Worker granted a request (set by routes.ts; "full" when absent, as for Durable Object RPC). */
export const grantedAccess = (request: Request): Access => {
  const value = request.headers.get(ACCESS_HEADER);
  return value === "read" || value === "write" ? value : "full";
};

/** How the server is set up to let requests in. */
export interface AuthSettings {
  /** The `WORKSPACE_TOKEN` secret. */
  secret?: string;
  /** True serves every workspace without a token when there is no secret (local development). */
  open: boolean;
}

/**
 * What `request` may do in workspace `name`: its access, or the response that refuses it. The
 * secret and a workspace's full token give "full"; a `read.` or `write.` token what it names; an
 * open server (local development) "full". A server with neither a secret nor `open` refuses
 * everything with a 503 that says what to set.
 */
export async function authorize(request: Request, settings: AuthSettings, name: string): Promise<{ access: Access } | { refused: Response }> {
  if (!settings.secret) {
    if (settings.open) return { access: "full" };
    return {
      refused: Response.json(
        {
          error: "EACCES",
          message:
            "This server opens no workspace: it has no WORKSPACE_TOKEN secret. Set one with `npx wrangler secret put WORKSPACE_TOKEN` and send it as a bearer token (locally, put it in .dev.vars or use npm start)",
        },
        { status: 503 },
      ),
    };
  }
  const access = await accessOf(request, settings.secret, name);
  if (access) return { access };
  return {
    refused: Response.json(
      { error: "EACCES", message: `A valid bearer token for workspace ${name} is required` },
      { status: 401, headers: { "WWW-Authenticate": `Bearer realm="workspace ${name}"` } },
    ),
  };
}

/** The access the bearer token of `request` gives in workspace `name`, if it is valid. */
async function accessOf(request: Request, secret: string, name: string): Promise<Access | undefined> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("Authorization") ?? "");
  if (!match) return undefined;
  const presented = match[1]!;
  const narrowed = /^(read|write)\./.exec(presented)?.[1] as Access | undefined;
  if (narrowed) return (await equalInConstantTime(presented, await scopedToken(secret, name, narrowed))) ? narrowed : undefined;
  const [asSecret, asScoped] = await Promise.all([equalInConstantTime(presented, secret), equalInConstantTime(presented, await scopedToken(secret, name))]);
  return asSecret || asScoped ? "full" : undefined;
}

/** Compares digests, not the strings, so neither length nor content leaks through timing. */
async function equalInConstantTime(a: string, b: string): Promise<boolean> {
  const [left, right] = await Promise.all([a, b].map((text) => crypto.subtle.digest("SHA-256", encoder.encode(text))));
  return crypto.subtle.timingSafeEqual(left!, right!);
}
