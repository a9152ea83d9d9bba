/**
 * POSIX behaviour a conformance suite checks, one test per cause it found on the mount: special
 * files, setattr on symlinks, deep paths, hard links, EFBIG at write and fallocate. Real shell
 * commands in the mount, checked through the engine.
 */
import { describe, expect, it } from "vitest";
import { canMount, useEngineMount } from "../support/engine-mount.ts";

describe.skipIf(!canMount)("the mount, POSIX like a local disk", () => {
  const mount = useEngineMount("wsd-posix-");
  const { sh, shFails } = mount;

  it("makes FIFOs, devices and Unix sockets with mknod, mkfifo and bind, and a FIFO carries data", async () => {
    await sh("mkfifo -m 600 pipe && mknod null c 1 3 && mknod disk b 8 1 && chmod 640 disk");
    await sh(`perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => "sock", Listen => 1) or die "$!\\n"'`);
    expect(await sh("stat -c '%n %F %a %t:%T' pipe null disk sock")).toBe(
      "pipe fifo 600 0:0\nnull character special file 644 1:3\ndisk block special file 640 8:1\nsock socket 755 0:0\n",
    );
    expect(mount.fs.lstat("/pipe")).toMatchObject({ type: "fifo", mode: 0o600 });
    expect(mount.fs.lstat("/null")).toMatchObject({ type: "character-device", rdev: 0x103 });
    expect(mount.fs.lstat("/disk")).toMatchObject({ type: "block-device", rdev: 0x801, mode: 0o640 });
    expect(mount.fs.lstat("/sock").type).toBe("socket");
    // The kernel serves the FIFO's pipe: a writer and a reader meet through the mount.
    expect(await sh("(echo through the pipe > pipe &) && cat pipe")).toBe("through the pipe\n");
    // (Opening a device is the kernel's business: FUSE mounts are nodev, so it answers EACCES.)
    await sh("mv pipe pipe2 && rm null disk sock");
    expect(mount.fs.readdir("/").map((entry) => `${entry.name}:${entry.type}`)).toEqual(["pipe2:fifo"]);
    await sh("rm pipe2");
  });

  it("changes a symlink itself with chown -h and touch -h, and tar xpf gives each entry its own owner and times", async () => {
    await sh("echo data > f && ln -s f l && chown 1000:1000 f && touch -d '2001-01-01 00:00:00' f");
    await sh("chown -h 2000:2000 l && touch -h -d '2005-05-05 05:05:05' l");
    expect(mount.fs.lstat("/f")).toMatchObject({ uid: 1000, gid: 1000, mtimeMs: Date.UTC(2001, 0, 1) });
    expect(mount.fs.lstat("/l")).toMatchObject({ uid: 2000, gid: 2000, mtimeMs: Date.UTC(2005, 4, 5, 5, 5, 5) });
    // An archive of f and l -> f (made outside the mount, each with its own owner and time), extracted with p.
    await sh(
      `src=$(mktemp -d) && cd $src && echo data > f && ln -s f l && chown 1000:1000 f && chown -h 3000:3000 l && ` +
        `touch -d '2001-01-01 00:00:00' f && touch -h -d '2009-09-09 09:09:09' l && tar cf "$MNT/pair.tar" f l && cd / && rm -rf $src && ` +
        `cd "$MNT" && mkdir out && tar xpf pair.tar --same-owner -C out`,
    );
    expect(mount.fs.lstat("/out/f")).toMatchObject({ uid: 1000, gid: 1000, mtimeMs: Date.UTC(2001, 0, 1) });
    expect(mount.fs.lstat("/out/l")).toMatchObject({ type: "symlink", uid: 3000, gid: 3000, mtimeMs: Date.UTC(2009, 8, 9, 9, 9, 9) });
    expect(await sh("stat -c '%n %u %Y' out/f out/l")).toBe(`out/f 1000 ${Date.UTC(2001, 0, 1) / 1000}\nout/l 3000 ${Date.UTC(2009, 8, 9, 9, 9, 9) / 1000}\n`);
  });

  it("sets attributes of a file open for writing as it asks, shows them at once, and lands them with its content in one revision at close", async () => {
    const before = mount.fs.rev;
    // What tar x does for each file: create, write, set times, owner and mode through the handle, close.
    const shown = await sh(
      `perl -e 'open(my $f, ">", "staged") or die; syswrite($f, "payload\\n"); utime(978307200, 978307200, $f) or die; ` +
        `chown(1234, 1234, $f) or die; chmod(0640, $f) or die; system("stat -c \\"%s %a %u:%g %Y\\" staged"); close($f) or die'`,
    );
    expect(shown).toBe("8 640 1234:1234 978307200\n");
    expect(mount.fs.readFile("/staged", { encoding: "utf8" })).toBe("payload\n");
    expect(mount.fs.lstat("/staged")).toMatchObject({ mode: 0o640, uid: 1234, gid: 1234, mtimeMs: 978307200000 });
    // Two revisions: the empty file at create, then its content and attributes together at close.
    expect(mount.fs.rev - before).toBe(1);
    // A write after the times were set moves mtime again, as on a local disk (the order holds).
    await sh(`perl -e 'open(my $f, ">", "later") or die; syswrite($f, "a"); utime(978307200, 978307200, $f) or die; syswrite($f, "b"); close($f) or die'`);
    expect(mount.fs.readFile("/later", { encoding: "utf8" })).toBe("ab");
    expect(mount.fs.lstat("/later").mtimeMs).toBeGreaterThan(978307200000);
    expect(Number(await sh("stat -c %Y later"))).toBeGreaterThan(978307200);
  });

  it("makes a new file with its content in one revision, and shows it while open: listed, with the inode number it keeps", async () => {
    const before = mount.fs.rev;
    const during = await sh(`perl -e 'open(my $f, ">", "fresh") or die; syswrite($f, "new\\n"); system("ls; stat -c %i:%s fresh"); close($f) or die'`);
    const [listing, inode] = [during.split("\n").slice(0, -2), during.split("\n").at(-2)!];
    expect(listing).toContain("fresh");
    expect(inode).toBe(`${mount.fs.lstat("/fresh").ino}:4`);
    expect(await sh("stat -c %i fresh")).toBe(`${inode.split(":")[0]}\n`);
    expect(mount.fs.readFile("/fresh", { encoding: "utf8" })).toBe("new\n");
    // `ls` listed the directory while the file was open, which made the file then, with what was written so far.
    expect(mount.fs.rev - before).toBe(1);
    const quiet = mount.fs.rev;
    await sh("for i in 1 2 3; do echo $i > quiet$i; done");
    expect(mount.fs.rev - quiet).toBe(3);
    // While open, its directory is not empty, and moving the directory takes the open file along.
    const moved = await sh(
      `mkdir box && perl -e 'open(my $f, ">", "box/inside") or die; syswrite($f, "a"); ` +
        `print system("rmdir box 2>/dev/null") == 0 ? "removed\\n" : "kept\\n"; system("mv box box2") == 0 or die; syswrite($f, "b"); close($f) or die'`,
    );
    expect(moved).toBe("kept\n");
    expect(mount.fs.readFile("/box2/inside", { encoding: "utf8" })).toBe("ab");
    // What would fail to be made fails at create, not later at close.
    expect(await shFails(`touch ${"n".repeat(256)}`)).toMatch(/File name too long/);
    expect(mount.fs.readdir("/").some((entry) => entry.name.length > 255)).toBe(false);
  });

  it("has no depth limit: a tree deeper than 4,096 bytes from the root, reached by relative paths", async () => {
    const name = "d".repeat(250);
    // 20 levels of 251 bytes: 5,020 bytes from the workspace root, each step a relative chdir
    // (perl, as dash's cd would build the whole logical path and hit PATH_MAX itself).
    const walkDown = (levels: number, then: string) =>
      `perl -e 'for (1..${levels}) { -d "${name}" or mkdir "${name}" or die "mkdir: $!\\n"; chdir "${name}" or die "chdir: $!\\n" } exec "sh", "-c", q(${then})'`;
    expect(await sh(walkDown(20, "echo deep > leaf.txt && cat leaf.txt"))).toBe("deep\n");
    const deep = `/${Array.from({ length: 20 }, () => name).join("/")}`;
    expect(mount.fs.readFile(`${deep}/leaf.txt`, { encoding: "utf8" })).toBe("deep\n");
    // A 4,095-byte relative path, from a directory 10 levels down (16 names of 250 bytes and the file).
    const relative = `${Array.from({ length: 16 }, () => "r".repeat(250)).join("/")}/${"f".repeat(79)}`;
    expect(Buffer.byteLength(relative)).toBe(4095);
    expect(await sh(walkDown(10, `mkdir -p ${relative.slice(0, relative.lastIndexOf("/"))} && echo rel > ${relative} && cat ${relative}`))).toBe("rel\n");
    expect(mount.fs.readFile(`/${Array.from({ length: 10 }, () => name).join("/")}/${relative}`, { encoding: "utf8" })).toBe("rel\n");
    expect(await shFails(`touch ${"n".repeat(256)}`)).toMatch(/File name too long/);
    await sh(`rm -rf ${name}`);
    expect(mount.fs.exists(`/${name}`)).toBe(false);
  });

  it("shows one inode number for every name of a hard link, and its attributes through every name right after a change", async () => {
    await sh("echo x > one && ln one two");
    const ino = mount.fs.lstat("/one").ino;
    // Each name is its own kernel inode under libfuse's path API: every stat below reads one
    // name right after a change made through another, with no wait for the attribute timeout.
    expect(await sh("stat -c '%i %h' one two")).toBe(`${ino} 2\n`.repeat(2));
    expect(await sh("chmod 600 two && stat -c '%a %h' two && stat -c '%a %h' one")).toBe("600 2\n600 2\n");
    expect(await sh("ln two three && stat -c %h three && stat -c %h one two")).toBe("3\n3\n3\n");
    expect(await sh("echo more >> one && stat -c %s two three && cat three")).toBe("7\n7\nx\nmore\n");
    // Writes still buffered on a handle of one name (open, not closed) show through the others.
    const writeAndLook = `open(my $f, ">>", "one") or die; syswrite($f, "abc"); print((stat("two"))[7], "\\n"); open(my $r, "<", "three"); print <$r>; close $f`;
    expect(await sh(`perl -e '${writeAndLook}'`)).toBe("10\nx\nmore\nabc");
    // A reader holding another name open reads what a write through one name changed in place.
    const holdAndReread = `open(my $r, "<", "two") or die; my $b; sysread($r, $b, 2); print "$b|"; system("printf y | dd of=one bs=1 count=1 conv=notrunc status=none"); for (1..100) { sysseek($r, 0, 0); sysread($r, $b, 2); last if $b eq "y\\n"; select(undef, undef, undef, 0.01) } print $b`;
    expect(await sh(`perl -e '${holdAndReread}'`)).toBe("x\n|y\n");
    expect(await sh("truncate -s 1 three && stat -c %s one && touch -d @1000000000 two && stat -c %Y one three")).toBe("1\n1000000000\n1000000000\n");
    expect(await sh("rm three && stat -c %h one two")).toBe("2\n2\n");
    expect(await sh("rm two && stat -c '%i %h' one")).toBe(`${ino} 1\n`);
    // A rename over one name of another hard-linked file takes that name from it.
    expect(await sh("echo other > two && ln two four && stat -c %h two && mv one four && stat -c '%h %s' two")).toBe("2\n1 6\n");
    await sh("rm two four");
  });

  it("fails a write past the largest file size with EFBIG at the write, keeping what came before", async () => {
    const max = mount.fs.maxFileSize;
    // dd reports the failed write itself; the file keeps the bytes written below the limit.
    const stderr = await shFails(`printf below > big && dd if=/dev/zero of=big bs=1 count=1 seek=${max} conv=notrunc status=none`);
    expect(stderr).toMatch(/File too large/);
    expect(mount.fs.readFile("/big", { encoding: "utf8" })).toBe("below");
    // A write that straddles the limit writes what fits.
    expect(await sh(`printf 'abcdef' | dd of=big bs=6 count=1 seek=${max - 2} oflag=seek_bytes conv=notrunc status=none; stat -c %s big`)).toBe(`${max}\n`);
    await sh("rm big");
  });

  it("allocates with fallocate and posix_fallocate, and keeps the size with --keep-size", async () => {
    await sh("printf abc > alloc && fallocate -l 1048576 alloc");
    expect(mount.fs.stat("/alloc").size).toBe(1048576);
    expect(mount.fs.readFile("/alloc", { byteLength: 4, encoding: "utf8" })).toBe("abc\0");
    await sh("fallocate --keep-size -o 0 -l 8388608 alloc");
    expect(mount.fs.stat("/alloc").size).toBe(1048576);
    await sh(`perl -e 'open(my $f, "+<", "alloc") or die; syscall(285, fileno($f), 0, 0, 2097152) == 0 or die "$!\\n"'`);
    expect(mount.fs.stat("/alloc").size).toBe(2097152);
    expect(await shFails("fallocate --punch-hole -o 0 -l 4096 alloc")).toMatch(/not supported|unsupported/);
    await sh("rm alloc");
  });
});
