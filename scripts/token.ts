/**
 * Prints the token scoped to one workspace: `WORKSPACE_TOKEN=<secret> npm run token -- <workspace>`.
 * It opens that workspace and no other (see src/agent/auth.ts).
 */
import { scopedToken } from "../src/agent/scoped-token.ts";

const [workspace] = process.argv.slice(2);
const secret = process.env.WORKSPACE_TOKEN;
if (!workspace || !secret) {
  console.error("usage: WORKSPACE_TOKEN=<secret> npm run token -- <workspace>");
  process.exit(2);
}
console.log(await scopedToken(secret, workspace));
