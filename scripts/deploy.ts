/**
 * `npm run deploy [-- wrangler deploy flags…]`: deploys the Worker only if it will be closed to
 * strangers. It asks Cloudflare for the Worker's secrets first; when `WORKSPACE_TOKEN` is not
 * among them (a first deploy included), it makes one, uploads it with the deploy, and prints it
 * once with how to make scoped tokens. A deploy that cannot check the secrets does not happen.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { stripVTControlCharacters } from "node:util";

const wrangler = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin/wrangler.js");
const flags = process.argv.slice(2);

/** Runs wrangler; its output is captured when `quiet`, shown otherwise. */
function run(args: string[], quiet: boolean): { status: number; output: string } {
  const result = spawnSync(process.execPath, [wrangler, ...args], { stdio: quiet ? "pipe" : "inherit", encoding: "utf8" });
  return { status: result.status ?? 1, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

/** wrangler's first error line, without its colours and decoration. */
function firstError(output: string): string {
  const plain = stripVTControlCharacters(output);
  const line = plain.split("\n").find((line) => line.includes("[ERROR]")) ?? plain.trim().split("\n")[0] ?? "no output";
  return line.replace(/^.*\[ERROR\]\s*/, "").trim();
}

const listed = run(["secret", "list", "--format", "json"], true);
const notDeployedYet = /not found|does not exist|10007/i.test(listed.output);
if (listed.status !== 0 && !notDeployedYet) {
  console.error(`deploy: not deploying, because the Worker's secrets could not be checked: ${firstError(listed.output)}`);
  process.exit(1);
}
let secretNames: string[] = [];
if (listed.status === 0) {
  try {
    secretNames = (JSON.parse(listed.output) as { name: string }[]).map((secret) => secret.name);
  } catch {
    console.error("deploy: not deploying, because wrangler's list of the Worker's secrets could not be read");
    process.exit(1);
  }
}

if (secretNames.includes("WORKSPACE_TOKEN")) process.exit(run(["deploy", ...flags], false).status);

const token = randomBytes(32).toString("hex");
const dir = mkdtempSync(join(tmpdir(), "workspace-deploy-"));
try {
  const secretsFile = join(dir, "secrets.json");
  writeFileSync(secretsFile, JSON.stringify({ WORKSPACE_TOKEN: token }), { mode: 0o600 });
  const deployed = run(["deploy", "--secrets-file", secretsFile, ...flags], false);
  if (deployed.status !== 0) process.exit(deployed.status);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `\nThe Worker had no WORKSPACE_TOKEN secret, so this deploy set one. It is shown once; keep it safe:\n\n  ${token}\n\n` +
    "It opens every workspace. A token for one workspace: WORKSPACE_TOKEN=<it> npm run token -- <workspace>.\n",
);
