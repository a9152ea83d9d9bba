/**
 * The workspace inside a Node process, no FUSE: real `wrangler dev`, real Node programs run as
 * their own processes (the VFS patches `node:fs` and the module loader of the process it is in),
 * once through the library entry (`mountWorkspaceVfs`) and once through `wsd run --vfs`. What a
 * program does is checked on the object through MCP and the files route.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, connectMcp, type DevServer, startDevServer } from "../../harness/dev-server.ts";

const dir = mkdtempSync(join(tmpdir(), "wsd-vfs-"));
const vfsEntry = join(import.meta.dirname, "../../src/wsd/vfs.ts");
const wsdBin = join(import.meta.dirname, "../../bin/wsd.js");
let server: DevServer;
let mcp: Client;

beforeAll(async () => {
  server = await startDevServer({ persistTo: join(dir, "state") });
  mcp = await connectMcp(server.url, "vfs");
}, 120_000);

afterAll(async () => {
  await mcp?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const fileOnServer = async (workspace: string, path: string) => {
  const response = await fetch(`${server.url}/w/${workspace}/files${path}`);
  return response.ok ? response.text() : `(${response.status})`;
};

/**
 * Writes `body` as an ES module that mounts `workspace` through the library entry (as `ws`, its
 * mount point as `root`) and runs it with Node; answers the child and its output so far.
 */
function runProgram(workspace: string, body: string): { child: ChildProcess; output: () => string; exited: Promise<number> } {
  const file = join(dir, `program-${workspace}-${Date.now()}.mjs`);
  writeFileSync(
    file,
    [
      'import fs from "node:fs";',
      `import { mountWorkspaceVfs } from ${JSON.stringify(vfsEntry)};`,
      `const ws = await mountWorkspaceVfs({ url: ${JSON.stringify(`${server.url}/w/${workspace}`)}, cache: ${JSON.stringify(join(dir, `cache-${workspace}`))}, log: () => {} });`,
      "const root = ws.mountPoint;",
      body,
    ].join("\n"),
  );
  const child = spawn(process.execPath, ["--no-warnings", file], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (data) => (output += data));
  child.stderr!.on("data", (data) => (output += data));
  const exited = new Promise<number>((resolve) => child.once("exit", (code) => resolve(code ?? -1)));
  return { child, output: () => output, exited };
}

async function outputOf(workspace: string, body: string): Promise<string> {
  const program = runProgram(workspace, body);
  const code = await program.exited;
  expect(code, program.output()).toBe(0);
  return program.output();
}

describe("mountWorkspaceVfs", () => {
  it("lets a Node program read, write, rename, mkdir, symlink and import from the workspace; the object sees every change", async () => {
    await callTool(mcp, "write", { path: "/lib/greet.cjs", content: "module.exports = (name) => `hello ${name}`;\n" });
    await callTool(mcp, "write", { path: "/lib/answer.mjs", content: "export const answer = 42;\n" });
    const output = await outputOf(
      "vfs",
      `
      const { createRequire } = await import("node:module");
      const require = createRequire(import.meta.url);
      console.log(require(root + "/lib/greet.cjs")("vfs"));
      console.log((await import(root + "/lib/answer.mjs")).answer);
      fs.writeFileSync(root + "/notes.txt", "first\\n");
      fs.appendFileSync(root + "/notes.txt", "second\\n");
      console.log(JSON.stringify(fs.readFileSync(root + "/notes.txt", "utf8")));
      fs.mkdirSync(root + "/out/deep", { recursive: true });
      fs.renameSync(root + "/notes.txt", root + "/out/deep/notes.txt");
      await fs.promises.writeFile(root + "/out/promised.txt", "through fs.promises\\n");
      fs.symlinkSync("deep/notes.txt", root + "/out/link");
      console.log(fs.readlinkSync(root + "/out/link"), fs.lstatSync(root + "/out/link").isSymbolicLink());
      console.log(fs.readdirSync(root + "/out").sort().join(","), fs.existsSync(root + "/notes.txt"));
      fs.writeFileSync(root + "/gone.txt", "x");
      fs.unlinkSync(root + "/gone.txt");
      fs.mkdirSync(root + "/empty");
      fs.rmdirSync(root + "/empty");
      await ws.close();
      `,
    );
    expect(output.trim().split("\n")).toEqual(["hello vfs", "42", JSON.stringify("first\nsecond\n"), "deep/notes.txt true", "deep,link,promised.txt false"]);
    expect(await callTool(mcp, "read", { path: "/out/deep/notes.txt" })).toContain("second");
    expect(await fileOnServer("vfs", "/out/deep/notes.txt")).toBe("first\nsecond\n");
    expect(await fileOnServer("vfs", "/out/promised.txt")).toBe("through fs.promises\n");
    expect(await fileOnServer("vfs", "/notes.txt")).toBe("(404)");
    expect(await fileOnServer("vfs", "/gone.txt")).toBe("(404)");
    expect(await callTool(mcp, "stat", { path: "/out/link" })).toMatch(/symlink/);
  });

  it("changes modes, times and owners through node:fs in all three forms, opens a FileHandle, and the object sees them", async () => {
    await callTool(mcp, "write", { path: "/meta/run.sh", content: "#!/bin/sh\n" });
    const output = await outputOf(
      "vfs",
      `
      fs.chmodSync(root + "/meta/run.sh", 0o755);
      await new Promise((resolve, reject) => fs.utimes(root + "/meta/run.sh", 1000000000, new Date("2020-01-02T03:04:05Z"), (error) => (error ? reject(error) : resolve())));
      fs.symlinkSync("run.sh", root + "/meta/link");
      await fs.promises.lutimes(root + "/meta/link", 1000, 1000);
      fs.chownSync(root + "/meta/run.sh", 1234, 5678);
      const stats = fs.statSync(root + "/meta/run.sh");
      console.log((stats.mode & 0o7777).toString(8), stats.mtime.toISOString(), stats.uid, stats.gid, fs.lstatSync(root + "/meta/link").mtimeMs);
      try { fs.chmodSync(root + "/meta/nope", "644"); } catch (error) { console.log(error.code, error.syscall); }
      const handle = await fs.promises.open(root + "/meta/handle.txt", "w+");
      await handle.write(Buffer.from("through a FileHandle\\n"), 0, 21, 0);
      const back = Buffer.alloc(21);
      const { bytesRead } = await handle.read(back, 0, 21, 0);
      console.log(bytesRead, JSON.stringify(back.toString()), (await handle.stat()).size, typeof handle.fd);
      await handle.close();
      await ws.close();
      `,
    );
    expect(output.trim().split("\n")).toEqual([
      "755 2020-01-02T03:04:05.000Z 1234 5678 1000000",
      "ENOENT chmod",
      `21 ${JSON.stringify("through a FileHandle\n")} 21 number`,
    ]);
    expect(await fileOnServer("vfs", "/meta/handle.txt")).toBe("through a FileHandle\n");
    expect(await callTool(mcp, "stat", { path: "/meta/run.sh" })).toMatch(
      /mode: -rwxr-xr-x \(0755\)[\s\S]*owner: uid 1234, gid 5678[\s\S]*modified: 2020-01-02T03:04:05Z/,
    );
  });

  it("answers node:fs's error codes, with syscall and the path as the program named it", async () => {
    await callTool(mcp, "write", { path: "/errors/file.txt", content: "x" });
    const output = await outputOf(
      "vfs",
      `
      const tries = {
        missing: () => fs.statSync(root + "/errors/nope"),
        readMissing: () => fs.openSync(root + "/errors/nope", "r"),
        exists: () => fs.mkdirSync(root + "/errors"),
        exclusive: () => fs.openSync(root + "/errors/file.txt", "wx"),
        notDirectory: () => fs.readdirSync(root + "/errors/file.txt"),
        isDirectory: () => fs.openSync(root + "/errors", "r"),
        notEmpty: () => fs.rmdirSync(root + "/errors"),
        parentMissing: () => fs.writeFileSync(root + "/no/such/dir.txt", "x"),
      };
      for (const [name, attempt] of Object.entries(tries)) {
        try { attempt(); console.log(name, "no error"); }
        catch (error) { console.log(name, error.code, error.syscall, error.path, error.message); }
      }
      await ws.close();
      `,
    );
    const lines = Object.fromEntries(
      output
        .trim()
        .split("\n")
        .map((line) => [line.split(" ")[0], line.split(" ").slice(1).join(" ")]),
    );
    expect(lines).toEqual({
      missing: "ENOENT stat /wsd/vfs/errors/nope ENOENT: no such file or directory, stat '/wsd/vfs/errors/nope'",
      readMissing: "ENOENT open /wsd/vfs/errors/nope ENOENT: no such file or directory, open '/wsd/vfs/errors/nope'",
      exists: "EEXIST mkdir /wsd/vfs/errors EEXIST: file already exists, mkdir '/wsd/vfs/errors'",
      exclusive: "EEXIST open /wsd/vfs/errors/file.txt EEXIST: file already exists, open '/wsd/vfs/errors/file.txt'",
      notDirectory: "ENOTDIR scandir /wsd/vfs/errors/file.txt ENOTDIR: not a directory, scandir '/wsd/vfs/errors/file.txt'",
      isDirectory: "EISDIR open /wsd/vfs/errors EISDIR: illegal operation on a directory, open '/wsd/vfs/errors'",
      notEmpty: "ENOTEMPTY rmdir /wsd/vfs/errors ENOTEMPTY: directory not empty, rmdir '/wsd/vfs/errors'",
      parentMissing: "ENOENT open /wsd/vfs/no/such/dir.txt ENOENT: no such file or directory, open '/wsd/vfs/no/such/dir.txt'",
    });
  });

  it("does positional reads and writes through file descriptors, and the workspace gets the file once it is closed", async () => {
    const output = await outputOf(
      "vfs",
      `
      const fd = fs.openSync(root + "/fd.bin", "w+");
      fs.writeSync(fd, Buffer.from("abcdef"), 0, 6, 0);
      fs.writeSync(fd, Buffer.from("XY"), 0, 2, 2);
      const read = Buffer.alloc(4);
      fs.readSync(fd, read, 0, 4, 1);
      console.log(read.toString(), fs.fstatSync(fd).size);
      fs.ftruncateSync(fd, 5);
      fs.closeSync(fd);
      try { fs.readSync(fd, read, 0, 1, 0); } catch (error) { console.log(error.code); }
      await ws.close();
      `,
    );
    expect(output.trim().split("\n")).toEqual(["bXYe 6", "EBADF"]);
    expect(await fileOnServer("vfs", "/fd.bin")).toBe("abXYe");
  });

  it("shows the program a change made through MCP, live, and fs.watch reports it", async () => {
    const program = runProgram(
      "vfs",
      `
      fs.mkdirSync(root + "/inbox", { recursive: true });
      // fs.watch holds nothing that keeps the process alive: the program waits on its own.
      const waiting = setInterval(() => {}, 1000);
      const watcher = fs.watch(root + "/inbox", (eventType, filename) => {
        if (filename !== "from-mcp.txt") return;
        console.log(eventType, filename, fs.readFileSync(root + "/inbox/from-mcp.txt", "utf8"));
        watcher.close();
        clearInterval(waiting);
      });
      console.log("watching");
      `,
    );
    await until(() => program.output().includes("watching"), program.output);
    await callTool(mcp, "write", { path: "/inbox/from-mcp.txt", content: "sent through MCP\n" });
    expect(await program.exited, program.output()).toBe(0);
    expect(program.output()).toContain("change from-mcp.txt sent through MCP");
  });

  it("close loses nothing: a file still open and one written just before reach the workspace, and the program then ends by itself", async () => {
    const output = await outputOf(
      "vfs",
      `
      fs.writeFileSync(root + "/last.txt", "written just before close\\n");
      const fd = fs.openSync(root + "/still-open.txt", "w");
      fs.writeSync(fd, "never closed by the program\\n");
      const summary = await ws.close();
      console.log(JSON.stringify(summary));
      `,
    );
    expect(JSON.parse(output.trim())).toEqual({ pushed: expect.any(Number), kept: 0 });
    expect(await fileOnServer("vfs", "/last.txt")).toBe("written just before close\n");
    expect(await fileOnServer("vfs", "/still-open.txt")).toBe("never closed by the program\n");
  });

  it("a program that never calls close ends by itself when its work is done, and what it wrote is pushed", async () => {
    await outputOf("vfs", `fs.writeFileSync(root + "/no-close.txt", "pushed as the process ends\\n");`);
    expect(await fileOnServer("vfs", "/no-close.txt")).toBe("pushed as the process ends\n");
  });
});

describe("wsd run --vfs", () => {
  interface Ran {
    code: number;
    stdout: string;
    stderr: string;
  }
  const wsdRun = (args: string[]): Promise<Ran> =>
    new Promise((resolve) =>
      execFile(process.execPath, [wsdBin, "run", ...args], { timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      ),
    );

  it("runs a Node program with the workspace mounted in it and exits with the program's code", async () => {
    const program = join(dir, "build.cjs");
    writeFileSync(
      program,
      [
        'const fs = require("node:fs");',
        'const text = fs.readFileSync("/wsd/cli-run/src/input.txt", "utf8");',
        'fs.mkdirSync("/wsd/cli-run/dist", { recursive: true });',
        'fs.writeFileSync("/wsd/cli-run/dist/output.txt", text.toUpperCase());',
        'console.log("built");',
        "process.exitCode = 3;",
      ].join("\n"),
    );
    const mcpRun = await connectMcp(server.url, "cli-run");
    await callTool(mcpRun, "write", { path: "/src/input.txt", content: "from the workspace\n" });
    await mcpRun.close();
    const ran = await wsdRun(["--vfs", `${server.url}/w/cli-run`, "--cache", join(dir, "cache-cli-run"), "--", process.execPath, program]);
    expect(ran).toEqual({ code: 3, stdout: "built\n", stderr: "" });
    expect(await fileOnServer("cli-run", "/dist/output.txt")).toBe("FROM THE WORKSPACE\n");
  });

  it("pushes what a program that ends with process.exit() left in its replica", async () => {
    const program = join(dir, "exits.cjs");
    writeFileSync(
      program,
      [
        'const fs = require("node:fs");',
        'fs.writeFileSync("/wsd/cli-run/exit.txt", "before process.exit\\n");',
        'const fd = fs.openSync("/wsd/cli-run/open.txt", "w");',
        'fs.writeSync(fd, "never closed\\n");',
        "process.exit(5);",
      ].join("\n"),
    );
    const ran = await wsdRun(["--vfs", `${server.url}/w/cli-run`, "--cache", join(dir, "cache-cli-run"), "--", process.execPath, program]);
    expect(ran.code).toBe(5);
    expect(await fileOnServer("cli-run", "/exit.txt")).toBe("before process.exit\n");
    expect(await fileOnServer("cli-run", "/open.txt")).toBe("never closed\n");
  });

  it("refuses a bad workspace URL and an unreachable server in one sentence each, with wsd's exit codes", async () => {
    const bad = await wsdRun(["--vfs", "not-a-url", "--", process.execPath, "-e", "1"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^wsd: EINVAL: not-a-url is not a workspace URL/)]);
    const missing = await wsdRun(["--vfs", `${server.url}/w/x`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^wsd: wsd run takes the command after --/);
    const unreachable = await wsdRun(["--vfs", "http://127.0.0.1:1/w/x", "--", process.execPath, "-e", "1"]);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^wsd: cannot reach http:\/\/127\.0\.0\.1:1\/w\/x/)]);
    expect(unreachable.stderr).not.toMatch(/^\s+at /m);
  });
});

/** Waits for `condition` (polled), failing with the program's output after 20 s. */
async function until(condition: () => boolean | Promise<boolean>, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out; the program said:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
