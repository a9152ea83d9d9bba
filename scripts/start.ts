/**
 * `npm start`: runs the Worker locally with `wrangler dev` (state in .wrangler/), and once it
 * answers, prints where to point an MCP client and mounts the workspace at ./workspace with wsd
 * (where FUSE is available; it says why not otherwise). PORT (default 8787) and WORKSPACE (default
 * "default") pick the address shown; set WORKSPACE_TOKEN in .dev.vars to require tokens.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const port = process.env.PORT ?? "8787";
const workspace = process.env.WORKSPACE ?? "default";
// wrangler exports no bin path: find it beside its package.json.
const wrangler = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin/wrangler.js");
// Local development is open without a token; a WORKSPACE_TOKEN in .dev.vars still closes it.
const child = spawn(process.execPath, [wrangler, "dev", "--port", port, "--var", "WORKSPACE_OPEN:1", ...process.argv.slice(2)], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));

const base = `http://localhost:${port}`;
for (let tries = 0; tries < 300; tries++) {
  await new Promise((resolve) => setTimeout(resolve, 200));
  const up = await fetch(`${base}/health`).then(
    (response) => response.ok,
    () => false,
  );
  if (!up) continue;
  console.log(
    `\nWorkspace "${workspace}" is served at:\n  MCP:   ${base}/w/${workspace}/mcp\n  files: ${base}/w/${workspace}/files/\n` +
      `Attach it: claude mcp add --transport http workspace ${base}/w/${workspace}/mcp\n`,
  );
  mountLocally();
  break;
}

/** Mounts the workspace at ./workspace with wsd when this machine can (root and /dev/fuse). */
function mountLocally(): void {
  const why = !existsSync("/dev/fuse") ? "there is no /dev/fuse" : process.getuid?.() !== 0 ? "mounting with allow_other needs root" : undefined;
  if (why) {
    console.log(`Not mounting ./workspace: ${why}. Run wsd where FUSE is available (see README).`);
    return;
  }
  const wsd = spawn(process.execPath, [join(import.meta.dirname, "../bin/wsd.js"), "mount", `${base}/w/${workspace}`, "workspace"], { stdio: "inherit" });
  child.on("exit", () => wsd.kill("SIGTERM"));
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => wsd.kill("SIGTERM"));
}
