/**
 * `npm start [-- --port N] [--mount DIR | --no-mount] [wrangler dev flags…]`: runs the Worker
 * locally with `wrangler dev` (state in .wrangler/ unless `--persist-to` says otherwise), and once
 * it answers, prints where to point an MCP client and mounts the workspace at ./workspace with wsd
 * (where FUSE is available; it says why not otherwise). PORT (default 8787) and WORKSPACE (default
 * "default") work as environment variables too. Locally the server is open; with WORKSPACE_TOKEN
 * in .dev.vars (or an --env-file) it needs tokens, and wsd gets the token scoped to its workspace.
 *
 * SIGINT or SIGTERM stops wsd first (it pushes what is left and unmounts while the server still
 * answers), then wrangler and its workerd; this process exits when both are gone.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { scopedToken } from "../src/agent/scoped-token.ts";

const { values, tokens } = parseArgs({
  args: process.argv.slice(2),
  options: { port: { type: "string" }, mount: { type: "string" }, "no-mount": { type: "boolean" } },
  strict: false,
  tokens: true,
});
// Every flag that is not ours goes on to wrangler dev, in order.
const ours = new Set(["port", "mount", "no-mount"]);
const wranglerArgs = tokens.flatMap((token) => {
  if (token.kind === "option") return ours.has(token.name) ? [] : [token.rawName, ...(token.value === undefined ? [] : [token.value])];
  return token.kind === "positional" ? [token.value] : [];
});
const port = String(values.port ?? process.env.PORT ?? "8787");
const workspace = process.env.WORKSPACE ?? "default";
// wrangler reads local secrets from the --env-file files given, or else from .dev.vars.
const envFiles = wranglerArgs.flatMap((arg, i) =>
  arg === "--env-file" && wranglerArgs[i + 1] ? [wranglerArgs[i + 1]!] : arg.startsWith("--env-file=") ? [arg.slice("--env-file=".length)] : [],
);
const secret = localSecret("WORKSPACE_TOKEN", envFiles.length > 0 ? envFiles : [".dev.vars"]);
const token = secret ? await scopedToken(secret, workspace) : undefined;

// wrangler exports no bin path: find it beside its package.json.
const wranglerBin = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin/wrangler.js");
// Local development is open without a token; a WORKSPACE_TOKEN in .dev.vars still closes it.
// Each child in its own process group, so a Ctrl-C reaches them only through us, in order.
const wrangler = spawn(process.execPath, [wranglerBin, "dev", "--port", port, "--var", "WORKSPACE_OPEN:1", ...wranglerArgs], {
  stdio: "inherit",
  detached: true,
});
let wsd: ChildProcess | undefined;
let stopping = false;

// stop() only waits for exit events and then exits: it never rejects.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stop());
wrangler.on("exit", (code) => {
  if (stopping) return;
  // wrangler ended by itself (a port in use, a config error): take wsd down with it.
  stopping = true;
  // stopWsd only waits for an exit event: it never rejects.
  void stopWsd().then(() => process.exit(code ?? 1));
});

const base = `http://localhost:${port}`;
for (let tries = 0; tries < 300 && !stopping; tries++) {
  await new Promise((resolve) => setTimeout(resolve, 200));
  const up = await fetch(`${base}/health`).then(
    (response) => response.ok,
    () => false,
  );
  if (!up) continue;
  const header = token ? ` --header "Authorization: Bearer ${token}"` : "";
  console.log(
    `\nWorkspace "${workspace}" is served at:\n  MCP:   ${base}/w/${workspace}/mcp\n  files: ${base}/w/${workspace}/files/\n` +
      `Attach it: claude mcp add --transport http workspace ${base}/w/${workspace}/mcp${header}\n`,
  );
  if (!values["no-mount"]) mountLocally(resolve(String(values.mount ?? "workspace")));
  break;
}

/** Mounts the workspace at `mountpoint` with wsd when this machine can (root and /dev/fuse). */
function mountLocally(mountpoint: string): void {
  const why = !existsSync("/dev/fuse") ? "there is no /dev/fuse" : process.getuid?.() !== 0 ? "mounting with allow_other needs root" : undefined;
  if (why) {
    console.log(`Not mounting ${mountpoint}: ${why}. Run wsd where FUSE is available (see README).`);
    return;
  }
  // The executable, whose launcher line gives the daemon its memory settings (bin/wsd.js).
  wsd = spawn(join(import.meta.dirname, "../bin/wsd.js"), ["mount", `${base}/w/${workspace}`, mountpoint], {
    stdio: "inherit",
    detached: true,
    env: token ? { ...process.env, WSD_TOKEN: token } : process.env,
  });
}

/** Stops wsd, then wrangler, then exits. */
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await stopWsd();
  const exited = new Promise((resolve) => wrangler.once("exit", resolve));
  if (wrangler.exitCode === null && wrangler.signalCode === null) process.kill(-wrangler.pid!, "SIGTERM");
  await exited;
  process.exit(0);
}

/** SIGTERM to wsd, which pushes and unmounts; resolves when it has exited. */
async function stopWsd(): Promise<void> {
  if (!wsd || wsd.exitCode !== null || wsd.signalCode !== null) return;
  const exited = new Promise((resolve) => wsd!.once("exit", resolve));
  wsd.kill("SIGTERM");
  await exited;
}

/** A variable from wrangler's local secrets files, the last file that sets it winning. */
function localSecret(name: string, files: string[]): string | undefined {
  let value: string | undefined;
  for (const file of files.filter((file) => existsSync(file))) {
    const line = readFileSync(file, "utf8")
      .split("\n")
      .findLast((line) => line.trim().startsWith(`${name}=`));
    if (line)
      value = line
        .slice(line.indexOf("=") + 1)
        .trim()
        .replace(/^"(.*)"$/, "$1");
  }
  return value;
}
