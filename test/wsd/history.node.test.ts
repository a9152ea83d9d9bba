/**
 * History across the mount: a real `wrangler dev`, a real `wsd mount`, shell commands (through
 * exec and straight in the mount) recorded with their source, an exec undone by its id while
 * another writer's change stays, a restore seen live in the mount, and an MCP client subscribed
 * to a file told when a shell in the mount changes it.
 */

import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Client as ModernClient, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, connectMcp, type DevServer, startDevServer } from "../../harness/dev-server.ts";
import { eventually } from "../../harness/eventually.ts";
import { canMount, runningWsds, spawnWsd, type Wsd } from "../../harness/wsd.ts";

const dir = mkdtempSync(join(tmpdir(), "wsd-history-"));
let server: DevServer;
let mcp: Client;
let wsd: Wsd;
const sh = (command: string, cwd: string) => promisify(execFile)("sh", ["-c", command], { cwd });

describe.skipIf(!canMount)("history of a mounted workspace", () => {
  beforeAll(async () => {
    server = await startDevServer({ persistTo: join(dir, "state") });
    mcp = await connectMcp(server.url, "hist");
    await callTool(mcp, "write", { path: "/src/a.txt", content: "one\ntwo\n" });
    await callTool(mcp, "write", { path: "/lib/util.js", content: "module.exports = 1;\n" });
    await callTool(mcp, "write", { path: "/lib/deep/x.js", content: "x\n" });
    wsd = spawnWsd(server.url, "hist", join(dir, "mnt"), join(dir, "cache"), ["--name", "box"]);
    await wsd.mounted();
  }, 120_000);

  afterAll(async () => {
    for (const running of runningWsds) await running.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("undoes one exec (sed -i, rm -r, git commit) and leaves a later tool call's change alone", async () => {
    const ran = await callTool(mcp, "exec", {
      command: "sed -i s/one/ONE/ src/a.txt && rm -r lib && git init -q && git add -A && git -c user.email=a@b.c -c user.name=agent commit -qm work",
    });
    const id = /· (exec-[0-9a-f]{8})/.exec(ran)?.[1];
    expect(id, ran).toBeDefined();
    expect(ran).toContain(`undo {"call": "${id}"} reverts what this command changed`);
    await callTool(mcp, "write", { path: "/notes.md", content: "written by a tool after the exec\n" });

    const history = await callTool(mcp, "history", { path: "/src/a.txt" });
    expect(history).toContain(`M /src/a.txt`);
    expect(history).toContain(`exec ${id} on box: sed -i s/one/ONE/ src/a.txt`);
    expect(await callTool(mcp, "history", {})).toMatch(/\(auto\) before exec: sed -i/);

    const undone = await callTool(mcp, "undo", { call: id });
    expect(undone).toMatch(new RegExp(`^Undid ${id}: \\d+ paths back as they were`));
    const mountpoint = wsd.mountpoint;
    // The mount sees the undo live: the sandbox's files are back, git's are gone, the tool's write stays.
    await eventually(() => expect(readFileSync(join(mountpoint, "src/a.txt"), "utf8")).toBe("one\ntwo\n"));
    await eventually(() => expect(existsSync(join(mountpoint, ".git"))).toBe(false));
    expect(readFileSync(join(mountpoint, "lib/deep/x.js"), "utf8")).toBe("x\n");
    expect(readFileSync(join(mountpoint, "lib/util.js"), "utf8")).toBe("module.exports = 1;\n");
    expect(readFileSync(join(mountpoint, "notes.md"), "utf8")).toBe("written by a tool after the exec\n");
  });

  it("records a shell's writes in the mount as the sandbox's, and a restore reaches the mount live", async () => {
    const mountpoint = wsd.mountpoint;
    await callTool(mcp, "checkpoint", { label: "before shell" });
    writeFileSync(join(mountpoint, "shell.txt"), "from a shell in the mount\n");
    await sh("rm -r src", mountpoint);
    await eventually(async () => expect((await fetch(`${server.url}/w/hist/files/src/a.txt`)).status).toBe(404));
    const history = await callTool(mcp, "history", {});
    expect(history).toMatch(/A \/shell\.txt .* sandbox \(wsd box\)/);
    expect(history).toMatch(/D \/src\/a\.txt .* sandbox \(wsd box\)/);

    await callTool(mcp, "restore", { to: "before shell" });
    await eventually(() => expect(readFileSync(join(mountpoint, "src/a.txt"), "utf8")).toBe("one\ntwo\n"));
    await eventually(() => expect(existsSync(join(mountpoint, "shell.txt"))).toBe(false));
  });

  it("tells an MCP client subscribed to a file when a shell in the mount changes it", async () => {
    const client = new ModernClient({ name: "subscriber", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/w/hist/mcp`)));
    const heard: string[] = [];
    client.setNotificationHandler("notifications/resources/updated", (notification) => void heard.push(notification.params.uri));
    try {
      await callTool(mcp, "write", { path: "/watched.md", content: "before\n" });
      const subscription = await client.listen({ resourceSubscriptions: ["workspace:///watched.md"] });
      await eventually(() => expect(existsSync(join(wsd.mountpoint, "watched.md"))).toBe(true));
      await sh("echo 'from the shell' >> watched.md", wsd.mountpoint);
      await eventually(() => expect(heard).toContain("workspace:///watched.md"));
      await subscription.close();
    } finally {
      await client.close();
    }
  });
});
