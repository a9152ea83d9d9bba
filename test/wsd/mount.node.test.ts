/**
 * A workspace engine mounted with FUSE, driven by real shell commands in child processes
 * (never synchronously from this process, which serves the mount), checked through the engine.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { WorkspaceFs } from "../../src/workspace-do/engine.ts";
import { openNodeSql } from "../../src/workspace-do/sql-node.ts";
import { mountWorkspace } from "../../src/wsd/mount.ts";
import { canMount, useEngineMount } from "../support/engine-mount.ts";

const execFileAsync = promisify(execFile);

describe.skipIf(!canMount)("a workspace mounted with FUSE", () => {
  const mount = useEngineMount("wsd-mount-");
  const { sh, shFails, failures } = mount;
  const text = (path: string) => mount.fs.readFile(path, { encoding: "utf8" });

  it("writes with echo, reads with cat, and commits on close", async () => {
    expect(await sh("echo hello > greeting.txt && cat greeting.txt")).toBe("hello\n");
    expect(text("/greeting.txt")).toBe("hello\n");
    await sh("echo world >> greeting.txt");
    expect(text("/greeting.txt")).toBe("hello\nworld\n");
    mount.fs.writeFile("/from-engine.txt", "engine side\n");
    expect(await sh("cat from-engine.txt")).toBe("engine side\n");
  });

  it("makes, copies, moves, links and removes trees", async () => {
    await sh("mkdir -p a/b/c && echo x > a/b/c/f && cp -r a a2 && mv a2 moved && ln -s b/c/f a/link && ln a/b/c/f a/hard");
    expect([...mount.fs.walk("/a")].map((entry) => `${entry.path}:${entry.type}`)).toEqual([
      "/a/b:directory",
      "/a/b/c:directory",
      "/a/b/c/f:file",
      "/a/hard:file",
      "/a/link:symlink",
    ]);
    expect(text("/moved/b/c/f")).toBe("x\n");
    expect(mount.fs.readlink("/a/link")).toBe("b/c/f");
    expect(mount.fs.stat("/a/hard").nlink).toBe(2);
    expect(await sh("cat a/link && readlink a/link")).toBe("x\nb/c/f\n");
    await sh("rm -r moved a");
    expect(mount.fs.exists("/a") || mount.fs.exists("/moved")).toBe(false);
  });

  it("answers errno for bad operations, and keeps the tree", async () => {
    await sh("mkdir -p full/sub && touch full/file");
    expect(await shFails("rmdir full")).toMatch(/Directory not empty/);
    // mv refuses this itself; perl calls rename(2) directly.
    expect(await shFails(`perl -e 'rename("full", "full/sub/inside") or die "$!\\n"'`)).toMatch(/Invalid argument/);
    expect(await shFails("cat nothing-here")).toMatch(/No such file or directory/);
    expect(await shFails(`touch ${"n".repeat(256)}`)).toMatch(/File name too long/);
    expect(await shFails("ln -s x full/file")).toMatch(/File exists/);
    expect(mount.fs.readdir("/full").map((entry) => entry.name)).toEqual(["file", "sub"]);
  });

  it("sets times with touch -d, modes with chmod, and keeps them through cp -p", async () => {
    await sh("echo t > timed && touch -d '2001-02-03 04:05:06' timed && chmod 640 timed && cp -p timed timed-copy");
    expect(mount.fs.stat("/timed")).toMatchObject({ mtimeMs: 981173106000, atimeMs: 981173106000, mode: 0o640 });
    expect(mount.fs.stat("/timed-copy")).toMatchObject({ mtimeMs: 981173106000, mode: 0o640 });
    expect(await sh("stat -c '%Y %a' timed")).toBe("981173106 640\n");
    await sh("touch -m -d '2010-01-01 00:00:00' timed");
    expect(mount.fs.stat("/timed")).toMatchObject({ mtimeMs: 1262304000000, atimeMs: 981173106000 });
  });

  it("gives new files to the user who made them and lets the kernel check permissions", async () => {
    await sh("mkdir -p shared && chmod 777 shared && echo root-only > shared/root.txt && chmod 644 shared/root.txt");
    await sh("echo mine > shared/nobody.txt && mkdir shared/nobody-dir", { user: 65534 });
    expect(mount.fs.stat("/shared/nobody.txt")).toMatchObject({ uid: 65534, gid: 65534 });
    expect(mount.fs.stat("/shared/nobody-dir")).toMatchObject({ uid: 65534, gid: 65534, type: "directory" });
    expect(await shFails("echo change >> shared/root.txt", { user: 65534 })).toMatch(/Permission denied/);
    expect(text("/shared/root.txt")).toBe("root-only\n");
    await sh("chown 65534:65534 shared/root.txt");
    expect(mount.fs.stat("/shared/root.txt")).toMatchObject({ uid: 65534, gid: 65534 });
  });

  it("streams a 64 MiB file in and out intact", async () => {
    const digest = (await sh("head -c 67108864 /dev/urandom | tee big.bin | sha256sum")).split(" ")[0];
    expect(mount.fs.stat("/big.bin").size).toBe(64 * 1024 * 1024);
    const stored = createHash("sha256");
    for (const chunk of mount.fs.chunksOf("/big.bin")) stored.update(chunk);
    expect(stored.digest("hex")).toBe(digest);
    expect((await sh("sha256sum big.bin")).split(" ")[0]).toBe(digest);
    await sh("dd if=/dev/zero of=big.bin bs=4096 count=1 seek=100 conv=notrunc status=none");
    expect(mount.fs.readFile("/big.bin", { byteOffset: 100 * 4096, byteLength: 4096 })).toEqual(new Uint8Array(4096));
    await sh("truncate -s 1000 big.bin");
    expect(mount.fs.stat("/big.bin").size).toBe(1000);
  }, 120_000);

  it("runs git init, add and commit, and sed -i and tar x work", async () => {
    await sh(
      'mkdir -p repo/src && cd repo && for i in $(seq 1 20); do echo "line $i" > src/f$i.txt; done && ' +
        "git init -q && git -c user.email=t@t -c user.name=t add -A && git -c user.email=t@t -c user.name=t commit -qm first",
    );
    expect(await sh("cd repo && git log --oneline | wc -l && git status --porcelain | wc -l")).toBe("1\n0\n");
    expect(mount.fs.exists("/repo/.git/HEAD")).toBe(true);
    await sh("sed -i 's/line 3/LINE THREE/' repo/src/f3.txt");
    expect(text("/repo/src/f3.txt")).toBe("LINE THREE\n");
    await sh(
      `mkdir -p /tmp/tar-src-$$ && cd /tmp/tar-src-$$ && mkdir -p t/d && echo a > t/d/a && echo b > t/b && tar cf "$MNT/t.tar" t && cd "$MNT" && rm -rf /tmp/tar-src-$$ && mkdir x && tar xf t.tar -C x`,
    );
    expect(text("/x/t/d/a")).toBe("a\n");
    expect(text("/x/t/b")).toBe("b\n");
  }, 60_000);

  it("answers EIO for an unexpected failure and keeps serving", async () => {
    const original = mount.fs.readdir.bind(mount.fs);
    (mount.fs as { readdir: unknown }).readdir = (path: string) => {
      if (path === "/full/sub") throw new Error("simulated storage fault");
      return original(path);
    };
    try {
      expect(await shFails("ls full/sub")).toMatch(/Input\/output error/);
    } finally {
      (mount.fs as { readdir: unknown }).readdir = original;
    }
    expect(failures.some((line) => line.startsWith("readdir /full/sub: Error: simulated storage fault"))).toBe(true);
    expect(await sh("ls full")).toBe("file\nsub\n");
  });
});

describe.skipIf(!canMount)("a workspace mounted read-only", () => {
  it("serves reads and refuses every change with EROFS", async () => {
    const root = await mkdtemp(join(tmpdir(), "wsd-ro-"));
    const workspace = new WorkspaceFs(openNodeSql(":memory:"));
    workspace.writeFile("/kept.txt", "unchanged\n");
    const readOnly = await mountWorkspace(workspace, join(root, "mnt"), { readOnly: true });
    try {
      const run = (script: string) => execFileAsync("sh", ["-c", `cd "${join(root, "mnt")}" && ${script}`], { timeout: 30_000 });
      expect((await run("cat kept.txt")).stdout).toBe("unchanged\n");
      for (const script of ["echo x > new.txt", "echo x >> kept.txt", "rm kept.txt", "mkdir d", "chmod 600 kept.txt", "touch -d 2001-01-01 kept.txt"]) {
        await expect(run(script), script).rejects.toMatchObject({ stderr: expect.stringMatching(/Read-only file system/) });
      }
      expect(workspace.readFile("/kept.txt", { encoding: "utf8" })).toBe("unchanged\n");
      expect(workspace.readdir("/").map((entry) => entry.name)).toEqual(["kept.txt"]);
    } finally {
      await readOnly.unmount();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!canMount)("the mount's write requests", () => {
  it("takes `dd bs=1M` as one write request per block, not eight of libfuse 2.9's 128 KiB", async () => {
    const root = await mkdtemp(join(tmpdir(), "wsd-writes-"));
    const workspace = new WorkspaceFs(openNodeSql(":memory:"));
    const traced: string[] = [];
    const mounted = await mountWorkspace(workspace, join(root, "mnt"), { trace: (line) => traced.push(line) });
    try {
      // The source lies outside the mount: the only writes the mount sees are dd's.
      const [source, big] = [join(root, "source"), join(root, "mnt", "big")];
      const script = `head -c 3145728 /dev/urandom > "${source}" && dd if="${source}" of="${big}" bs=1M status=none && cmp "${source}" "${big}"`;
      await execFileAsync("sh", ["-c", script], { timeout: 30_000 });
      expect(traced.filter((line) => line === "write /big")).toHaveLength(3);
      expect(workspace.stat("/big").size).toBe(3 * 1024 * 1024);
    } finally {
      await mounted.unmount();
      await rm(root, { recursive: true, force: true });
    }
  });
});
