/**
 * The patched fuse-native, end to end: a tiny in-memory filesystem served by this process,
 * driven only from child processes (touching the mount synchronously from here would deadlock).
 * Needs root and /dev/fuse; skipped without them.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CallerContext,
  callerContext,
  errno,
  type FuseInstance,
  type FuseOps,
  type FuseStat,
  KernelCache,
  libfuse,
  mount,
  unmount,
} from "../../src/wsd/fuse-binding.ts";

const run = promisify(execFile);
const canMount = process.getuid?.() === 0 && existsSync("/dev/fuse");
const NOBODY = 65534;
const MiB = 1024 * 1024;

interface Node {
  mode: number;
  uid: number;
  gid: number;
  atime: number;
  mtime: number;
  ctime: number;
  data: Buffer;
}

/** A flat in-memory filesystem (files and directories in the root only) that logs its calls. */
function memfs() {
  const now = Date.now();
  const nodes = new Map<string, Node>([["/", { mode: 0o40777, uid: 0, gid: 0, atime: now, mtime: now, ctime: now, data: Buffer.alloc(0) }]]);
  const created: { path: string; mode: number; ctx: CallerContext }[] = [];
  const utimens: { path: string; atime: number | null; mtime: number | null }[] = [];
  const writes: { path: string; length: number }[] = [];
  const stat = (n: Node): FuseStat => ({ ...n, size: n.data.length, nlink: n.mode & 0o40000 ? 2 : 1 });
  const make = (path: string, mode: number) => {
    const ctx = callerContext(); // synchronously, inside the handler
    created.push({ path, mode, ctx });
    const t = Date.now();
    nodes.set(path, { mode, uid: ctx.uid, gid: ctx.gid, atime: t, mtime: t, ctime: t, data: Buffer.alloc(0) });
  };
  const ops: FuseOps = {
    getattr: (path, cb) => {
      const n = nodes.get(path);
      return n ? cb(0, stat(n)) : cb(errno("ENOENT"));
    },
    readdir: (_path, cb) =>
      cb(
        0,
        [...nodes.keys()].filter((p) => p !== "/").map((p) => p.slice(1)),
      ),
    create: (path, mode, cb) => {
      make(path, mode);
      cb(0, 42);
    },
    mkdir: (path, mode, cb) => {
      make(path, 0o40000 | mode);
      cb(0);
    },
    open: (path, _flags, cb) => (nodes.has(path) ? cb(0, 42) : cb(errno("ENOENT"))),
    release: (_path, _fd, cb) => cb(0),
    truncate: (path, size, cb) => {
      const n = nodes.get(path);
      if (!n) return cb(errno("ENOENT"));
      n.data = Buffer.concat([n.data, Buffer.alloc(size)]).subarray(0, size);
      cb(0);
    },
    read: (path, _fd, buf, len, position, cb) => {
      const n = nodes.get(path);
      if (!n) return cb(errno("ENOENT"));
      cb(n.data.copy(buf, 0, position, Math.min(n.data.length, position + len)));
    },
    write: (path, _fd, buf, len, position, cb) => {
      writes.push({ path, length: len });
      const n = nodes.get(path);
      if (!n) return cb(errno("ENOENT"));
      const end = Math.max(n.data.length, position + len);
      const data = Buffer.alloc(end);
      n.data.copy(data);
      buf.copy(data, position, 0, len);
      n.data = data;
      n.mtime = n.ctime = Date.now();
      cb(len);
    },
    utimens: (path, atime, mtime, cb) => {
      utimens.push({ path, atime, mtime });
      const n = nodes.get(path);
      if (!n) return cb(errno("ENOENT"));
      if (atime !== null) n.atime = atime;
      if (mtime !== null) n.mtime = mtime;
      n.ctime = Date.now();
      cb(0);
    },
  };
  return { ops, nodes, created, utimens, writes };
}

describe.skipIf(!canMount)("patched fuse-native", () => {
  const fs = memfs();
  let dir = "";
  let mnt = "";
  let fuse: FuseInstance | undefined;
  /**
   * Runs a shell script in the mount in a child process, with TZ=UTC and a timeout. Never give
   * the child `cwd: mnt`: spawn blocks this thread until the child has exec'd, and the child's
   * chdir into the mount waits for this thread to answer FUSE: a deadlock.
   */
  const sh = async (script: string, user?: number) => {
    const cmd = ["sh", "-c", `cd '${mnt}' && ${script}`];
    const argv = user === undefined ? cmd : ["setpriv", `--reuid=${user}`, `--regid=${user}`, "--clear-groups", ...cmd];
    const { stdout } = await run(argv[0]!, argv.slice(1), { env: { ...process.env, TZ: "UTC" }, timeout: 10_000 });
    return stdout.trim();
  };
  const times = async (name: string) => (await sh(`stat -c '%X %Y' ${name}`)).split(" ").map(Number);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "fuse-binding-"));
    await chmod(dir, 0o755); // mkdtemp makes it 0700: other users could not reach the mount
    mnt = join(dir, "mnt");
    await mkdir(mnt);
    fuse = await mount(mnt, fs.ops, { defaultPermissions: true, allowOther: true, rawOptions: ["big_writes", `max_write=${MiB}`] });
  }, 20_000);

  afterAll(async () => {
    try {
      if (fuse) await unmount(fuse);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 20_000);

  it("preloads a libfuse and mounts with the options asked for", async () => {
    expect(libfuse).toMatch(/libfuse\.so/);
    const line = (await sh(`grep ' ${mnt} ' /proc/mounts`)).split(" ");
    expect(line[0]).toBe("wsd"); // fsname, carrying big_writes with it
    expect(line[3]).toContain("default_permissions");
    expect(line[3]).toContain("allow_other");
  });

  it("touch -d sets mtime and atime through utimens", async () => {
    await sh("touch -d '2001-02-03 04:05:06' f");
    expect(await sh("stat -c %Y f")).toBe("981173106");
    expect(await times("f")).toEqual([981173106, 981173106]);
    expect(fs.utimens.at(-1)).toEqual({ path: "/f", atime: 981173106000, mtime: 981173106000 });
  });

  it("touch -m changes mtime only and touch -a atime only (UTIME_OMIT is null)", async () => {
    await sh("touch -d '2001-02-03 04:05:06' g");
    await sh("touch -m -d '2002-03-04 05:06:07.891' g");
    expect(fs.utimens.at(-1)).toEqual({ path: "/g", atime: null, mtime: 1015218367891 });
    expect(await times("g")).toEqual([981173106, 1015218367]);
    await sh("touch -a -d '2003-01-01 00:00:00' g");
    expect(fs.utimens.at(-1)).toEqual({ path: "/g", atime: 1041379200000, mtime: null });
    expect(await times("g")).toEqual([1041379200, 1015218367]);
  });

  it("touch without a date resolves UTIME_NOW to the current time", async () => {
    await sh("touch -d '2001-02-03 04:05:06' h");
    const before = Date.now();
    await sh("touch h");
    const last = fs.utimens.at(-1)!;
    expect(last.atime).toBe(last.mtime);
    expect(last.mtime).toBeGreaterThanOrEqual(before - 1000);
    expect(last.mtime).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it("creates files as the calling user, with the umask already applied to mode", async () => {
    await sh("umask 022; touch x", NOBODY);
    const x = fs.created.find((c) => c.path === "/x")!;
    expect(x.ctx).toMatchObject({ uid: NOBODY, gid: NOBODY, umask: 0o022 });
    expect(x.ctx.pid).toBeGreaterThan(0);
    expect(x.mode).toBe(0o100644); // touch asks 0666; the kernel masked it
    expect(await sh("stat -c '%u %g %a' x")).toBe(`${NOBODY} ${NOBODY} 644`);

    await sh("umask 077; touch y; umask 027; mkdir d", NOBODY);
    expect(fs.created.find((c) => c.path === "/y")!.mode).toBe(0o100600);
    const d = fs.created.find((c) => c.path === "/d")!;
    expect(d.mode).toBe(0o40750);
    expect(d.ctx).toMatchObject({ uid: NOBODY, umask: 0o027 });

    await sh("touch r"); // as root
    expect(fs.created.find((c) => c.path === "/r")!.ctx).toMatchObject({ uid: 0, gid: 0 });
  });

  it("default_permissions: the kernel refuses another user's 0644 file", async () => {
    await sh("umask 022; echo hi > owned");
    await expect(sh("echo no >> owned", NOBODY)).rejects.toThrow(/Permission denied/);
    expect(await sh("cat owned", NOBODY)).toBe("hi");
  });

  it("a mount asking max_write=1 MiB gets 1 MiB write requests, where libfuse 2.9 alone stops at 128 KiB", async () => {
    await sh("dd if=/dev/zero of=big bs=1M count=3 status=none");
    expect(fs.writes.filter((w) => w.path === "/big").map((w) => w.length)).toEqual([MiB, MiB, MiB]);
    expect(fs.nodes.get("/big")?.data.length).toBe(3 * MiB);

    // The same write on a mount that does not ask: libfuse's own limit.
    const plain = memfs();
    const plainMnt = join(dir, "plain");
    await mkdir(plainMnt);
    const plainFuse = await mount(plainMnt, plain.ops, { rawOptions: ["big_writes"] });
    try {
      await run("dd", ["if=/dev/zero", `of=${plainMnt}/big`, "bs=1M", "count=1", "status=none"], { timeout: 10_000 });
      expect(plain.writes.map((w) => w.length)).toEqual(Array(8).fill(128 * 1024));
    } finally {
      await unmount(plainFuse);
    }
  });

  it("callerContext throws outside a handler", () => {
    expect(() => callerContext()).toThrow(/outside a FUSE handler/);
  });
});

describe.skipIf(!canMount)("KernelCache of the patched fuse-native", () => {
  it("drops the attributes and names the kernel holds, by inode number, and does nothing once unmounted", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fuse-kernel-cache-"));
    const mnt = join(dir, "mnt");
    await mkdir(mnt);
    // One file, inode 7, changed behind the kernel's back; the kernel may keep everything a minute.
    const file = { present: true, size: 1 };
    const t = Date.now();
    const base = { uid: 0, gid: 0, atime: t, mtime: t, ctime: t };
    const ops: FuseOps = {
      getattr: (path, cb) => {
        if (path === "/") return cb(0, { ...base, ino: 1, mode: 0o40755, size: 0, nlink: 2 });
        if (path === "/f" && file.present) return cb(0, { ...base, ino: 7, mode: 0o100644, size: file.size, nlink: 1 });
        cb(errno("ENOENT"));
      },
    };
    const kernel = new KernelCache();
    const fuse = await mount(mnt, ops, { rawOptions: ["use_ino", "attr_timeout=60", "entry_timeout=60"] });
    const sizeOfF = async () => (await run("stat", ["-c", "%s", join(mnt, "f")], { timeout: 10_000 })).stdout.trim();
    try {
      kernel.attach(fuse);
      expect(await sizeOfF()).toBe("1");
      file.size = 5;
      expect(await sizeOfF()).toBe("1"); // cached: what the calls below must drop
      kernel.invalidateAttributes(7);
      expect(await sizeOfF()).toBe("5");
      file.present = false;
      expect(await sizeOfF()).toBe("5");
      await kernel.invalidate([[1, "f"]], [7]);
      await expect(sizeOfF()).rejects.toThrow(/No such file/);
    } finally {
      await unmount(fuse);
      await rm(dir, { recursive: true, force: true });
    }
    // The channel is gone: both are no-ops, not a crash.
    kernel.invalidateAttributes(7);
    await kernel.invalidate([[1, "f"]], [7]);
  }, 30_000);
});
