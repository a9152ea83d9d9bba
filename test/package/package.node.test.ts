/**
 * The package as a user gets it: `npm pack`, the tarball installed into a new project, then its
 * public entry points used from there: wsd's CLI mounting a workspace, the engine from a Node
 * script, and the server from another Worker project under `wrangler dev`.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectMcp, type DevServer, startDevServer } from "../../harness/dev-server.ts";
import { eventually } from "../../harness/eventually.ts";
import { installPackedPackage } from "../../harness/package.ts";
import { canMount } from "../../harness/wsd.ts";
import { VERSION } from "../../src/version.ts";

const run = promisify(execFile);
const root = join(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "package-test-"));
let project: string;

beforeAll(async () => {
  ({ project } = await installPackedPackage(dir));
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the packed package", () => {
  it("carries the version of package.json, and only what users need", async () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version);
    const installed = join(project, "node_modules/workspace-fs");
    const { stdout } = await run("find", [".", "-maxdepth", "1"], { cwd: installed });
    expect(stdout.split("\n").filter(Boolean).sort()).toEqual(
      [".", "./CHANGELOG.md", "./LICENSE", "./README.md", "./bin", "./dist", "./dist-web", "./package.json", "./patches", "./scripts"].sort(),
    );
  });

  it("gives a Worker project the server: its entry re-exports WorkspaceAgent and serves MCP under wrangler dev", async () => {
    const worker = join(dir, "worker");
    mkdirSync(worker, { recursive: true });
    writeFileSync(
      join(project, "worker.ts"),
      [
        'import { handleWorkspaceRequest, WorkspaceAgent } from "workspace-fs/server";',
        "export { WorkspaceAgent };",
        "export default { fetch: handleWorkspaceRequest };",
      ].join("\n"),
    );
    writeFileSync(
      join(project, "wrangler.jsonc"),
      JSON.stringify({
        name: "consumer-worker",
        main: "worker.ts",
        compatibility_date: "2026-11-02",
        compatibility_flags: ["nodejs_compat"],
        durable_objects: { bindings: [{ name: "WORKSPACE", class_name: "WorkspaceAgent" }] },
        migrations: [{ tag: "v1", new_sqlite_classes: ["WorkspaceAgent"] }],
        // The web view, as the README says to serve it: the package's built page as static assets.
        assets: { directory: "node_modules/workspace-fs/dist-web", binding: "ASSETS", html_handling: "none", not_found_handling: "none" },
      }),
    );
    const server: DevServer = await startDevServer({ persistTo: join(worker, "state"), configs: [join(project, "wrangler.jsonc")] });
    try {
      const mcp = await connectMcp(server.url, "from-package");
      expect(mcp.getServerVersion()?.version).toBe(VERSION);
      const { tools } = await mcp.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(["read", "write", "edit", "grep", "exec"]));
      const page = await fetch(`${server.url}/w/from-package/`);
      expect(page.headers.get("Content-Type")).toMatch(/^text\/html/);
      expect(await page.text()).toContain('<script type="module" src="/web/app.js">');
      expect((await fetch(`${server.url}/web/app.js`)).status).toBe(200);
      const agent = await fetch(`${server.url}/w/from-package/agent`, { method: "POST", body: "{}" });
      expect(agent.status).toBe(404);
      expect(await agent.json()).toMatchObject({ error: "ENOENT", message: expect.stringContaining("no coding agent") });
    } finally {
      await server.stop();
    }
  }, 180_000);

  it("gives a Node script the engine (a write and a read on a database file), the MCP tools and wsd as a library", async () => {
    writeFileSync(
      join(project, "engine.mjs"),
      [
        'import { WorkspaceFs, openNodeSql } from "workspace-fs/node";',
        `const fs = new WorkspaceFs(openNodeSql(${JSON.stringify(join(dir, "engine.db"))}));`,
        'fs.writeFile("/notes/today.md", "from the package\\n", { parents: true });',
        'console.log(fs.readFile("/notes/today.md", { encoding: "utf8" }).trim(), fs.stat("/notes/today.md").size);',
        'const { callTool, TOOLS } = await import("workspace-fs/mcp");',
        'const listed = await callTool({ fs, exec: async () => { throw new Error("no sandbox"); } }, "ls", { path: "/notes" });',
        'console.log(TOOLS.length, listed.content[0].text.includes("today.md"));',
        'const { WsdDaemon, parseWorkspaceUrl } = await import("workspace-fs/wsd");',
        'console.log(typeof WsdDaemon, parseWorkspaceUrl("http://localhost:8787/w/docs").name);',
        'const { mountWorkspaceVfs } = await import("workspace-fs/vfs");',
        "console.log(typeof mountWorkspaceVfs);",
      ].join("\n"),
    );
    const { stdout } = await run(process.execPath, ["--no-warnings", "engine.mjs"], { cwd: project });
    expect(stdout.trim().split("\n")).toEqual(["from the package 17", "23 true", "function docs", "function"]);
  });

  it("is typed: a TypeScript project using every entry type-checks against the package's declarations", async () => {
    writeFileSync(
      join(project, "typed.ts"),
      [
        'import { FsError, WorkspaceFs } from "workspace-fs";',
        'import { openNodeSql } from "workspace-fs/node";',
        'import { registerWorkspaceTools, TOOLS, type Workspace } from "workspace-fs/mcp";',
        'import { handleWorkspaceRequest, WorkspaceAgent, type WorkspaceServerEnv } from "workspace-fs/server";',
        'import { CodingAgent } from "workspace-fs/coding-agent";',
        'import { readStatuses, WsdDaemon } from "workspace-fs/wsd";',
        'import { mountWorkspaceVfs, type WorkspaceVfs } from "workspace-fs/vfs";',
        "export const mounting: Promise<WorkspaceVfs> = mountWorkspaceVfs({ url: 'http://localhost:8787/w/a', cache: '/tmp/x' });",
        "const fs: WorkspaceFs = new WorkspaceFs(openNodeSql(':memory:'));",
        'fs.writeFile("/a.txt", "x", { parents: true });',
        'const workspace: Workspace = { fs, access: "read", exec: async () => { throw new FsError("EPERM", "(exec)", "no sandbox"); } };',
        "const names: string[] = TOOLS.map((tool) => tool.name);",
        'const revision: number = new WsdDaemon({ url: "http://localhost:8787/w/a", mountpoint: "/tmp/x" }).revision;',
        "const handler: (request: Request, env: WorkspaceServerEnv) => Promise<Response> = handleWorkspaceRequest;",
        "export { workspace, names, revision, handler, WorkspaceAgent, CodingAgent, readStatuses, registerWorkspaceTools };",
        "// @ts-expect-error: the wrong type for an option is an error",
        'new WsdDaemon({ url: 1, mountpoint: "/tmp/x" });',
        "// @ts-expect-error: there is no such access",
        'export const wrong: Workspace = { fs, access: "admin", exec: workspace.exec };',
      ].join("\n"),
    );
    // The consumer's own TypeScript set-up: workers-types and @types/node, as a Worker or Node project has.
    const types = join(root, "node_modules");
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2023",
          module: "ESNext",
          moduleResolution: "Bundler",
          lib: ["ES2023"],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          typeRoots: [join(types, "@types"), join(types, "@cloudflare")],
          types: ["node", "workers-types"],
        },
        files: ["typed.ts"],
      }),
    );
    const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin/tsc");
    const checked = await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: project }).then(
      () => "",
      (error: { stdout: string }) => error.stdout,
    );
    expect(checked).toBe("");
  }, 60_000);

  it.skipIf(!canMount)(
    "gives a sandbox wsd: --version, then a real mount of a workspace served by wrangler dev",
    async () => {
      const wsd = join(project, "node_modules/.bin/wsd");
      expect((await run(wsd, ["--version"])).stdout.trim()).toBe(VERSION);
      const server = await startDevServer({ persistTo: join(dir, "state") });
      const mountpoint = join(dir, "mnt");
      mkdirSync(mountpoint, { recursive: true });
      const child = execFile(wsd, ["mount", `${server.url}/w/packaged`, mountpoint, "--cache", join(dir, "cache")]);
      try {
        await fetch(`${server.url}/w/packaged/files/hello.txt`, { method: "PUT", body: "through the packaged wsd\n" });
        await eventually(async () => expect(await readFile(join(mountpoint, "hello.txt"), "utf8")).toBe("through the packaged wsd\n"));
        // The launcher line started Node with the daemon's memory settings (bin/wsd.js).
        expect(readFileSync(`/proc/${child.pid}/cmdline`, "utf8").split("\0")).toContain("--max-semi-space-size=4");
        expect(readFileSync(`/proc/${child.pid}/environ`, "utf8").split("\0")).toContain("MALLOC_ARENA_MAX=2");
      } finally {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
        await server.stop();
      }
      expect(readFileSync("/proc/mounts", "utf8")).not.toContain(mountpoint);
    },
    180_000,
  );
});
