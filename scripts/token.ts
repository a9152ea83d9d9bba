/**
 * Prints the token scoped to one workspace:
 * `WORKSPACE_TOKEN=<secret> npm run token -- <workspace> [--no-exec | --read-only]`.
 * It opens that workspace and no other; `--no-exec` leaves out exec and the coding agent,
 * `--read-only` every change too (see src/agent/scoped-token.ts).
 */
import { parseArgs } from "node:util";
import { scopedToken } from "../src/agent/scoped-token.ts";

const USAGE = "usage: WORKSPACE_TOKEN=<secret> npm run token -- <workspace> [--no-exec | --read-only]";
let parsed: ReturnType<typeof parse>;
try {
  parsed = parse();
} catch (error) {
  console.error(`token: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  process.exit(2);
}
const [workspace] = parsed.positionals;
const secret = process.env.WORKSPACE_TOKEN;
if (!workspace || !secret || parsed.positionals.length > 1 || (parsed.values["read-only"] && parsed.values["no-exec"])) {
  console.error(USAGE);
  process.exit(2);
}
console.log(await scopedToken(secret, workspace, parsed.values["read-only"] ? "read" : parsed.values["no-exec"] ? "write" : "full"));

function parse() {
  return parseArgs({ allowPositionals: true, options: { "read-only": { type: "boolean" }, "no-exec": { type: "boolean" } } });
}
