/**
 * `npm run bench:bundle`: what a Worker built on the package weighs. Packs and installs the
 * package into a new project, then bundles two entries with `wrangler deploy --dry-run`: one
 * that serves files only (`workspace-fs/server`) and one that adds the coding agent
 * (`workspace-fs/coding-agent`, with its AI SDKs). Prints each bundle's size, raw and gzipped.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { installPackedPackage } from "../harness/package.ts";

const run = promisify(execFile);
const wrangler = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin/wrangler.js");

const WORKERS = {
  "files only": {
    entry: [
      'import { handleWorkspaceRequest, WorkspaceAgent } from "workspace-fs/server";',
      "export { WorkspaceAgent };",
      "export default { fetch: handleWorkspaceRequest };",
    ],
    classes: ["WorkspaceAgent"],
  },
  "with the coding agent": {
    entry: [
      'import { handleWorkspaceRequest, WorkspaceAgent } from "workspace-fs/server";',
      'import { CodingAgent } from "workspace-fs/coding-agent";',
      "export { CodingAgent, WorkspaceAgent };",
      "export default { fetch: handleWorkspaceRequest };",
    ],
    classes: ["WorkspaceAgent", "CodingAgent"],
  },
};

const dir = mkdtempSync(join(tmpdir(), "bench-bundle-"));
try {
  console.log("packing and installing the package…");
  const { project } = await installPackedPackage(dir);
  const sizes: Record<string, { raw: number; gzip: number }> = {};
  for (const [label, worker] of Object.entries(WORKERS)) {
    const slug = label.replace(/\W+/g, "-");
    writeFileSync(join(project, `${slug}.ts`), worker.entry.join("\n"));
    const bindings = worker.classes.map((class_name) => ({ name: class_name === "WorkspaceAgent" ? "WORKSPACE" : "CODING_AGENT", class_name }));
    const config = {
      name: slug,
      main: `${slug}.ts`,
      compatibility_date: "2026-11-02",
      compatibility_flags: ["nodejs_compat"],
      durable_objects: { bindings },
      migrations: [{ tag: "v1", new_sqlite_classes: worker.classes }],
    };
    writeFileSync(join(project, `${slug}.jsonc`), JSON.stringify(config));
    const out = join(dir, `out-${slug}`);
    await run(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", out, "-c", `${slug}.jsonc`], { cwd: project, maxBuffer: 16 * 1024 * 1024 });
    const files = readdirSync(out).filter((name) => name.endsWith(".js"));
    const raw = files.reduce((sum, name) => sum + statSync(join(out, name)).size, 0);
    const gzip = files.reduce((sum, name) => sum + gzipSync(readFileSync(join(out, name))).byteLength, 0);
    sizes[label] = { raw, gzip };
  }
  console.log("\n| Worker | bundle | gzipped |\n| --- | --- | --- |");
  for (const [label, { raw, gzip }] of Object.entries(sizes)) console.log(`| ${label} | ${kib(raw)} | ${kib(gzip)} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}
