/**
 * wsd end to end: a real `wrangler dev`, `wsd mount` as its own process (a real FUSE mount),
 * shell commands in the mount checked through MCP, MCP writes checked through the mount.
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectMcp, type DevServer, startDevServer } from "../../harness/dev-server.ts";
import { eventually } from "../../harness/eventually.ts";
import { canMount, runningWsds, runWsd, spawnWsd, type Wsd } from "../../harness/wsd.ts";

const execFileAsync = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "wsd-e2e-"));
let server: DevServer;
async function startWsd(workspace: string, mountpoint: string, cache: string): Promise<Wsd> {
  const wsd = spawnWsd(server.url, workspace, mountpoint, cache);
  await wsd.mounted();
  return wsd;
}

/** A process's resident memory (VmRSS) or its peak (VmHWM), in KiB. */
function rssKiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match![1]);
}

async function sh(mountpoint: string, script: string): Promise<string> {
  const { stdout } = await execFileAsync("sh", ["-c", `cd "${mountpoint}" && ${script}`], {
    env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: "1", LC_ALL: "C" },
    timeout: 60_000,
  });
  return stdout;
}

async function read(mcp: Client, path: string): Promise<string> {
  const result = (await mcp.callTool({ name: "read", arguments: { path } })) as { isError?: boolean; content: { text: string }[] };
  if (result.isError) throw new Error(result.content[0]!.text);
  return result.content.map((part) => part.text).join("\n");
}

async function call(mcp: Client, name: string, args: Record<string, unknown>): Promise<void> {
  const result = (await mcp.callTool({ name, arguments: args })) as { isError?: boolean; content: { text: string }[] };
  if (result.isError) throw new Error(result.content[0]!.text);
}

const isMounted = (mountpoint: string) => readFileSync("/proc/mounts", "utf8").includes(` ${mountpoint} `);

describe.skipIf(!canMount)("wsd mount", () => {
  beforeAll(async () => {
    server = await startDevServer({ persistTo: join(dir, "state") });
  }, 120_000);

  afterAll(async () => {
    for (const wsd of runningWsds) await wsd.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows shell work through MCP and MCP writes in the mount, live", async () => {
    const mnt = join(dir, "live");
    const wsd = await startWsd("live", mnt, join(dir, "cache-live"));
    const mcp = await connectMcp(server.url, "live");
    await sh(
      mnt,
      "echo 'from the shell' > note.txt && mkdir -p src/lib && cp note.txt src/lib/copy.txt && mv src/lib src/core && ln -s core/copy.txt src/link",
    );
    await eventually(async () => expect(await read(mcp, "/src/core/copy.txt")).toBe("     1\tfrom the shell"));
    expect(await read(mcp, "/src/link")).toBe("     1\tfrom the shell");
    await sh(mnt, "sed -i 's/shell/sandbox/' note.txt && rm -r src");
    await eventually(async () => expect(await read(mcp, "/note.txt")).toBe("     1\tfrom the sandbox"));
    await eventually(async () => expect(read(mcp, "/src/core/copy.txt")).rejects.toThrow(/ENOENT/));
    // A file the sandbox has already read (warm page cache) shows the MCP edit.
    expect(await sh(mnt, "cat note.txt")).toBe("from the sandbox\n");
    await call(mcp, "edit", { path: "/note.txt", edits: [{ old_text: "sandbox", new_text: "MCP edit, longer than before" }] });
    await eventually(async () => expect(await sh(mnt, "cat note.txt")).toBe("from the MCP edit, longer than before\n"));
    await call(mcp, "write", { path: "/made/by/mcp.txt", content: "hello mount\n" });
    await eventually(async () => expect(await sh(mnt, "cat made/by/mcp.txt")).toBe("hello mount\n"));
    await eventually(async () => {
      const line = (await runWsd(["status"])).split("\n").find((candidate) => candidate.startsWith(`${mnt}  `));
      expect(line).toMatch(
        new RegExp(
          `^${mnt}  ${server.url}/w/live  connected since \\S+  rev \\d+  pending 0  conflicts 0  cache \\d+\\.\\d MiB  name \\S+  exec on  pid ${wsd.child.pid}$`,
        ),
      );
    });
    await wsd.stop();
    expect(isMounted(mnt)).toBe(false);
    expect(await runWsd(["status"])).not.toContain(mnt);
    expect(wsd.log()).toMatch(/wsd: unmounted/);
  }, 60_000);

  it("shows an MCP rewrite to a process that holds the file open, and a stat right after shows the new size", async () => {
    const mnt = join(dir, "held-open");
    await startWsd("held-open", mnt, join(dir, "cache-held-open"));
    const mcp = await connectMcp(server.url, "held-open");
    await call(mcp, "write", { path: "/log.txt", content: "first version\n" });
    await eventually(async () => expect(await sh(mnt, "cat log.txt")).toBe("first version\n"));
    const fd = openSync(join(mnt, "log.txt"), "r");
    try {
      const readAll = () => {
        const buffer = Buffer.alloc(64);
        return buffer.subarray(0, readSync(fd, buffer, 0, 64, 0)).toString();
      };
      expect(readAll()).toBe("first version\n"); // now in the kernel's page cache
      // Same length: only dropping the cached pages can show it (no open, no new size).
      await call(mcp, "write", { path: "/log.txt", content: "other version\n" });
      await eventually(() => expect(readAll()).toBe("other version\n"));
      await call(mcp, "write", { path: "/log.txt", content: "a third, longer version\n" });
      await eventually(() => expect(readAll()).toBe("a third, longer version\n"));
      expect(fstatSync(fd).size).toBe(24);
    } finally {
      closeSync(fd);
    }
  });

  it("wsd unmount of a live mount stops its daemon the normal way: pushed, unmounted, and nothing lost", async () => {
    const mnt = join(dir, "unmount-live");
    const wsd = await startWsd("unmount-live", mnt, join(dir, "cache-unmount-live"));
    const mcp = await connectMcp(server.url, "unmount-live");
    await sh(mnt, 'mkdir -p src && for i in $(seq 1 40); do echo "line $i" > src/f$i.txt; done && echo last > last.txt');
    const exited = new Promise<number | null>((resolve) => wsd.child.once("exit", (code) => resolve(code)));
    const said = await runWsd(["unmount", mnt]);
    expect(said).toMatch(new RegExp(`^wsd: unmounted ${mnt}; pushed \\d+ changes?\n$`));
    expect(await exited).toBe(0);
    expect(isMounted(mnt)).toBe(false);
    expect(await runWsd(["status"])).not.toContain(mnt);
    expect(await read(mcp, "/last.txt")).toBe("     1\tlast");
    expect(await read(mcp, "/src/f40.txt")).toBe("     1\tline 40");
    const exec = (await mcp.callTool({ name: "exec", arguments: { command: "ls", sandbox: "wsd" } })) as { isError?: boolean; content: { text: string }[] };
    expect(exec.isError).toBe(true);
    expect(exec.content[0]!.text).toContain("no wsd is attached to this workspace");
  }, 60_000);

  it("a SIGTERM the moment the mount is announced stops the daemon the normal way, leaving no mount behind", async () => {
    const mnt = join(dir, "term-at-once");
    const wsd = spawnWsd(server.url, "term-at-once", mnt, join(dir, "cache-term-at-once"));
    const exited = new Promise<[number | null, string | null]>((resolve) => wsd.child.once("exit", (code, signal) => resolve([code, signal])));
    const onLog = (chunk: Buffer) => {
      if (chunk.toString().includes("wsd: mounted")) wsd.child.kill("SIGTERM");
    };
    wsd.child.stdout!.on("data", onLog);
    wsd.child.stderr!.on("data", onLog);
    expect(await exited).toEqual([0, null]);
    expect(isMounted(mnt)).toBe(false);
    expect(wsd.log()).toMatch(/wsd: unmounted/);
  }, 60_000);

  it("a daemon whose mount is taken away from outside (umount -l) notices, pushes what it has and exits", async () => {
    const mnt = join(dir, "taken-away");
    const wsd = await startWsd("taken-away", mnt, join(dir, "cache-taken-away"));
    const exited = new Promise<number | null>((resolve) => wsd.child.once("exit", (code) => resolve(code)));
    await execFileAsync("umount", ["-l", mnt]);
    expect(await exited).toBe(0);
    expect(wsd.log()).toContain(`wsd: the mount at ${mnt} was taken away (unmounted from outside); pushing what is left and stopping`);
    expect(await runWsd(["status"])).not.toContain(mnt);
    await expect(runWsd(["unmount", mnt])).rejects.toMatchObject({ stderr: `wsd: ${mnt} is not mounted\n` });
  }, 60_000);

  it("commits a git repository in the mount and the workspace has every object", async () => {
    const mnt = join(dir, "git");
    const wsd = await startWsd("git", mnt, join(dir, "cache-git"));
    const mcp = await connectMcp(server.url, "git");
    await sh(
      mnt,
      'mkdir repo && cd repo && for i in $(seq 1 30); do echo "line $i" > f$i.txt; done && ' +
        "git init -q && git -c user.email=t@t -c user.name=t add -A && git -c user.email=t@t -c user.name=t commit -qm first",
    );
    const head = (await sh(mnt, "cd repo && git rev-parse HEAD")).trim();
    await eventually(async () => expect(await read(mcp, "/repo/.git/HEAD")).toMatch(/ref: refs\/heads\//));
    await eventually(async () => expect(await read(mcp, "/repo/f30.txt")).toBe("     1\tline 30"));
    await wsd.stop();
    // A second mount, from an empty cache, sees the same repository.
    const again = await startWsd("git", join(dir, "git2"), join(dir, "cache-git2"));
    expect((await sh(join(dir, "git2"), "cd repo && git rev-parse HEAD && git status --porcelain | wc -l")).split("\n").slice(0, 2)).toEqual([head, "0"]);
    await again.stop();
  }, 90_000);

  it("keeps two mounts of one workspace in step", async () => {
    const [a, b] = [join(dir, "two-a"), join(dir, "two-b")];
    const first = await startWsd("two", a, join(dir, "cache-two-a"));
    const second = await startWsd("two", b, join(dir, "cache-two-b"));
    await sh(a, "echo from-a > a.txt");
    await eventually(async () => expect(await sh(b, "cat a.txt")).toBe("from-a\n"));
    await sh(b, "echo from-b > b.txt && rm a.txt");
    await eventually(async () => expect(await sh(a, "cat b.txt && ls")).toBe("from-b\nb.txt\n"));
    // Special files and a symlink's own owner travel too, and MCP shows them.
    await sh(a, "mkfifo -m 640 pipe && mknod tty c 4 1 && ln -s b.txt link && chown -h 1000:1000 link");
    await eventually(async () =>
      expect(await sh(b, "stat -c '%n %F %a %t:%T %u' pipe tty link")).toBe(
        "pipe fifo 640 0:0 0\ntty character special file 644 4:1 0\nlink symbolic link 777 0:0 1000\n",
      ),
    );
    const mcp = await connectMcp(server.url, "two");
    const stat = (await mcp.callTool({ name: "stat", arguments: { path: "/tty" } })) as { content: { text: string }[] };
    expect(stat.content[0]!.text).toContain("type: character-device\ndevice: 4, 1\n");
    const readPipe = (await mcp.callTool({ name: "read", arguments: { path: "/pipe" } })) as { isError?: boolean; content: { text: string }[] };
    expect(readPipe).toMatchObject({ isError: true, content: [{ text: "EINVAL: /pipe is a fifo, not a regular file; it holds no content in the workspace" }] });
    await mcp.close();
    await first.stop();
    await second.stop();
  }, 60_000);

  it("keeps the mount working through a server restart and pushes what was written meanwhile", async () => {
    const persistTo = join(dir, "restart-state");
    let own = await startDevServer({ persistTo });
    const port = Number(new URL(own.url).port);
    const mnt = join(dir, "restart");
    const wsd = spawnWsd(own.url, "restart", mnt, join(dir, "cache-restart"));
    try {
      await wsd.mounted();
      await sh(mnt, "echo before > before.txt");
      const fetchText = (path: string) =>
        fetch(`${own.url}/w/restart/files${path}`).then((response) => (response.ok ? response.text() : Promise.reject(new Error(String(response.status)))));
      await eventually(async () => expect(await fetchText("/before.txt")).toBe("before\n"));
      await own.stop();
      await eventually(async () => expect(wsd.log()).toMatch(/disconnected/));
      await sh(mnt, "echo during > during.txt && cat before.txt");
      // wsd status tells: reconnecting, with the write waiting.
      const statusOf = async () => (await runWsd(["status"])).split("\n").find((line) => line.startsWith(`${mnt}  `));
      await eventually(async () => expect(await statusOf()).toMatch(/ {2}reconnecting since \S+ {2}rev \d+ {2}pending 1 {2}/));
      own = await startDevServer({ persistTo, port });
      await eventually(async () => expect(await fetchText("/during.txt")).toBe("during\n"), 40_000);
      expect(await fetchText("/before.txt")).toBe("before\n");
      // The server applies the push before wsd hears back and logs the line.
      await eventually(() => expect(wsd.log()).toMatch(/resumed/));
      await eventually(async () => expect(await statusOf()).toMatch(/ {2}connected since \S+ {2}rev \d+ {2}pending 0 {2}/));
    } finally {
      await wsd.stop();
      await own.stop();
    }
  }, 120_000);

  it("pushes a file still open for writing once its 4 MiB runs are committed, without waiting for close", async () => {
    const mnt = join(dir, "open-writer");
    const wsd = await startWsd("open-writer", mnt, join(dir, "cache-open-writer"));
    // 10 MiB through one descriptor that stays open and is never closed (no close of a dup
    // either, which would flush): two 4 MiB runs are committed mid-write, the rest waits.
    const writer = spawn(
      process.execPath,
      [
        "-e",
        `const fs = require("node:fs"); const fd = fs.openSync(${JSON.stringify(`${mnt}/log.bin`)}, "w");
      for (let i = 0; i < 80; i++) fs.writeSync(fd, Buffer.alloc(128 * 1024)); setTimeout(() => {}, 30_000);`,
      ],
      { stdio: "ignore" },
    );
    try {
      await eventually(async () => {
        const response = await fetch(`${server.url}/w/open-writer/files/log.bin`, { method: "HEAD" });
        expect(Number(response.headers.get("Content-Length"))).toBeGreaterThanOrEqual(8 * 1024 * 1024);
      }, 10_000);
      expect(writer.exitCode).toBeNull();
    } finally {
      writer.kill("SIGKILL");
    }
    await wsd.stop();
  }, 60_000);

  it("round-trips a 100 MiB file with the daemon's memory bounded", async () => {
    const mnt = join(dir, "large");
    const wsd = await startWsd("large", mnt, join(dir, "cache-large"));
    const baseline = rssKiB(wsd.child.pid!, "VmRSS");
    const digest = (await sh(mnt, "head -c 104857600 /dev/urandom | tee big.bin | sha256sum")).split(" ")[0];
    const remote = await eventually(async () => {
      const response = await fetch(`${server.url}/w/large/files/big.bin`);
      const hash = createHash("sha256");
      for await (const piece of response.body!) hash.update(piece);
      const hex = hash.digest("hex");
      expect(hex).toBe(digest);
      return hex;
    }, 60_000);
    expect(remote).toBe(digest);
    // The daemon streamed it: its peak grew by less than the file (about 75 MiB here, the same
    // for 100 and 300 MiB: garbage V8 collects at its own pace, not the file held).
    expect(rssKiB(wsd.child.pid!, "VmHWM") - baseline).toBeLessThan(100 * 1024);
    await wsd.stop();
  }, 120_000);

  it("starts from an empty replica when the workspace was reset, keeping the old one aside", async () => {
    const cache = join(dir, "cache-reset");
    const mcp = await connectMcp(server.url, "reset-a");
    for (let i = 0; i < 5; i++) await call(mcp, "write", { path: `/old${i}.txt`, content: `old ${i}\n` });
    const first = await startWsd("reset-a", join(dir, "reset"), cache);
    await first.stop();
    // The same cache pointed at a younger workspace looks like a reset of the old one.
    const fresh = await connectMcp(server.url, "reset-b");
    await call(fresh, "write", { path: "/new.txt", content: "new\n" });
    const second = await startWsd("reset-b", join(dir, "reset"), cache);
    expect(second.log()).toMatch(/is at revision 1, behind the 5 this replica pulled.*kept as .*replica\.db\.orphaned-/);
    expect(await sh(join(dir, "reset"), "ls")).toBe("new.txt\n");
    await second.stop();
  }, 60_000);

  it("resumes from its cache after a restart without fetching again, and loses nothing to kill -9", async () => {
    const mnt = join(dir, "resume");
    const cache = join(dir, "cache-resume");
    const mcp = await connectMcp(server.url, "resume");
    for (let i = 0; i < 10; i++) await call(mcp, "write", { path: `/f${i}.txt`, content: `file ${i}\n` });
    const first = await startWsd("resume", mnt, cache);
    // Content comes when a file is first opened: the connect fetched none.
    expect(first.log()).toMatch(/connected to .* \(0 chunks fetched, 0 sent\)/);
    expect(await sh(mnt, "cat f*.txt | wc -l")).toBe("10\n");
    await first.stop();
    const second = await startWsd("resume", mnt, cache);
    expect(second.log()).toMatch(/resumed .* \(0 chunks fetched, 0 sent\)/);
    await sh(mnt, "echo 'closed before the crash' > saved.txt");
    second.child.kill("SIGKILL");
    await new Promise((resolve) => second.child.once("exit", resolve));
    runningWsds.delete(second);
    // The dead mount is cleared by the next start; the file reaches the workspace.
    const third = await startWsd("resume", mnt, cache);
    await eventually(async () => expect(await read(mcp, "/saved.txt")).toBe("     1\tclosed before the crash"));
    expect(await sh(mnt, "cat saved.txt")).toBe("closed before the crash\n");
    await third.stop();
  }, 90_000);

  it("a file being created in the mount survives a pull into its directory, and reaches the workspace whole on close", async () => {
    const mnt = join(dir, "creating");
    const wsd = await startWsd("creating", mnt, join(dir, "cache-creating"));
    const mcp = await connectMcp(server.url, "creating");
    await sh(mnt, "mkdir d");
    // A writer holds a new file open (written, not yet landed) while the workspace changes its directory.
    const writer = spawn("perl", ["-e", 'open(my $f, ">", "d/new.txt") or die; syswrite($f, "local "); sleep 2; syswrite($f, "end\\n"); close($f) or die'], {
      cwd: mnt,
    });
    const done = new Promise<number | null>((resolve) => writer.on("exit", resolve));
    // stat answers from the writer's handle: the file is not in the replica yet when the pull comes.
    await eventually(async () => expect(await sh(mnt, "stat -c %s d/new.txt")).toBe("6\n"));
    await call(mcp, "write", { path: "/d/other.txt", content: "from the workspace\n" });
    await eventually(async () => expect(await sh(mnt, "ls d")).toBe("new.txt\nother.txt\n"));
    expect(await done).toBe(0);
    await eventually(async () => expect(await read(mcp, "/d/new.txt")).toBe("     1\tlocal end"));
    expect(await sh(mnt, "cat d/new.txt d/other.txt")).toBe("local end\nfrom the workspace\n");
    await wsd.stop();
  }, 60_000);

  it("a new file reaches the workspace in one step with its content: never empty or cut short, whatever its size", async () => {
    const mnt = join(dir, "one-step");
    const wsd = await startWsd("one-step", mnt, join(dir, "cache-one-step"));
    const size = 24 * 1024 * 1024;
    // Written slowly enough (in 1 MiB pieces, 24 of them) that pushes run meanwhile.
    const writing = sh(mnt, `for i in $(seq 1 24); do head -c 1048576 /dev/urandom; sleep 0.05; done > big.bin`);
    const seen = new Set<string>();
    let done = false;
    void writing.finally(() => (done = true));
    while (!done) {
      const response = await fetch(`${server.url}/w/one-step/files/big.bin`, { method: "HEAD" });
      seen.add(response.status === 200 ? `size ${response.headers.get("Content-Length")}` : `status ${response.status}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await writing;
    await eventually(async () =>
      expect((await fetch(`${server.url}/w/one-step/files/big.bin`, { method: "HEAD" })).headers.get("Content-Length")).toBe(String(size)),
    );
    // While it was written the workspace had no such file, never a part of it.
    expect([...seen].filter((state) => state !== "status 404")).toEqual([]);
    await wsd.stop();
  }, 90_000);

  it("fsync returns once the workspace holds the file: kill -9 and a lost cache lose nothing fsync'd", async () => {
    const mnt = join(dir, "fsync");
    const cache = join(dir, "cache-fsync");
    const wsd = await startWsd("fsync", mnt, cache);
    // dd's conv=fsync calls fsync before it exits; nothing else waits here.
    await sh(mnt, "head -c 300000 /dev/urandom > /tmp/wsd-fsync-src && dd if=/tmp/wsd-fsync-src of=durable.bin bs=64k conv=fsync status=none");
    wsd.child.kill("SIGKILL");
    await new Promise((resolve) => wsd.child.once("exit", resolve));
    runningWsds.delete(wsd);
    await execFileAsync("umount", ["-l", mnt]);
    rmSync(cache, { recursive: true, force: true });
    const stored = Buffer.from(await (await fetch(`${server.url}/w/fsync/files/durable.bin`)).arrayBuffer());
    expect(createHash("sha256").update(stored).digest("hex")).toBe(createHash("sha256").update(readFileSync("/tmp/wsd-fsync-src")).digest("hex"));
    rmSync("/tmp/wsd-fsync-src");
  }, 60_000);

  it("keeps local-only paths (--local, /.wsdignore) out of the workspace, and a rename across the boundary is EXDEV", async () => {
    const mnt = join(dir, "local");
    const mcp = await connectMcp(server.url, "local");
    await call(mcp, "write", { path: "/.wsdignore", content: "/build/\n" });
    const wsd = spawnWsd(server.url, "local", mnt, join(dir, "cache-local"), ["--local", "node_modules/"]);
    await wsd.mounted();
    await sh(mnt, "mkdir -p node_modules/dep src build && echo dep > node_modules/dep/index.js && echo out > build/out.txt && echo app > src/app.js");
    await eventually(async () => expect(await read(mcp, "/src/app.js")).toBe("     1\tapp"));
    const listing = (await (await fetch(`${server.url}/w/local/files/`)).json()) as { entries: { name: string }[] };
    expect(listing.entries.map((entry) => entry.name).sort()).toEqual([".wsdignore", "src"]);
    // rename(2) itself refuses; mv then copies, and the copy outside the local paths is pushed.
    expect(await sh(mnt, `perl -e 'rename("node_modules/dep", "src/dep") or print "$!\\n"'`)).toBe("Invalid cross-device link\n");
    await sh(mnt, "mv node_modules/dep src/dep && ls node_modules | wc -l");
    await eventually(async () => expect(await read(mcp, "/src/dep/index.js")).toBe("     1\tdep"));
    // A pulled change to a local path is skipped: the replica's own stays.
    await call(mcp, "write", { path: "/build/out.txt", content: "from mcp\n" });
    await call(mcp, "write", { path: "/src/after.txt", content: "after\n" });
    await eventually(async () => expect(await sh(mnt, "cat src/after.txt")).toBe("after\n"));
    expect(await sh(mnt, "cat build/out.txt")).toBe("out\n");
    await wsd.stop();
  }, 60_000);
});
