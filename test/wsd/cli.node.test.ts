/**
 * wsd's command line as a user meets it: every way `wsd mount` can fail to start gets one line
 * (no stack trace) and its own exit code, as `wsd --help` documents them.
 */
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../../harness/dev-server.ts";
import { canMount, spawnWsd } from "../../harness/wsd.ts";
import { scopedToken } from "../../src/agent/scoped-token.ts";
import { VERSION } from "../../src/version.ts";

const wsdBin = join(import.meta.dirname, "../../bin/wsd.js");
const dir = mkdtempSync(join(tmpdir(), "wsd-cli-"));
chmodSync(dir, 0o755); // another user runs wsd in here too
let server: DevServer;
let guarded: DevServer;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `wsd ...args` (optionally through a wrapper command such as unshare) and answers how it ended. */
function wsd(args: string[], wrapper: string[] = []): Promise<Ran> {
  const [file, ...rest] = [...wrapper, process.execPath, wsdBin, ...args];
  return new Promise((resolve) => {
    execFile(file!, rest, { timeout: 60_000, env: { ...process.env, WSD_TOKEN: "" } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

/** One line on stderr, no stack trace, the exit code. */
function failedWith(ran: Ran, code: number, line: RegExp): void {
  expect(ran.stderr.trim().split("\n"), ran.stderr).toEqual([expect.stringMatching(line)]);
  expect(ran.stderr).not.toMatch(/^\s+at /m);
  expect(ran.code).toBe(code);
}

const freeDir = (name: string) => join(dir, name);

beforeAll(async () => {
  [server, guarded] = await Promise.all([
    startDevServer({ persistTo: join(dir, "state") }),
    startDevServer({ persistTo: join(dir, "guarded"), token: "cli-test-secret" }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([server?.stop(), guarded?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("wsd's command line", () => {
  it("--version prints the package version; --help documents the exit codes", async () => {
    expect(await wsd(["--version"])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
    const help = await wsd(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("exit codes: 0 done; 1 other failure; 2 bad command, flag or URL; 3 server unreachable; 4 token");
  });

  // Debian's own Node (20 on these machines), when there is one older than wsd needs.
  const oldNode = ["/usr/bin/node"].find((path) => {
    try {
      const [major, minor] = execFileSync(path, ["-p", "process.versions.node"], { encoding: "utf8" }).split(".").map(Number);
      return major! < 22 || (major === 22 && minor! < 12);
    } catch {
      return false;
    }
  });

  it.skipIf(!oldNode)("on a Node older than 22.12 it says so in one line", async () => {
    const ran = await new Promise<Ran>((resolve) =>
      execFile(oldNode!, [wsdBin, "--version"], (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr })),
    );
    failedWith(ran, 1, /^wsd: needs Node\.js 22\.12 or newer; this is \d+\.\d+\.\d+$/);
  });

  it("an unknown command, an unknown flag, a missing value or a bad URL is a usage error (2)", async () => {
    failedWith(await wsd(["frob"]), 2, /^wsd: frob is not a wsd command; see wsd --help$/);
    failedWith(await wsd(["mount", "--bogus"]), 2, /^wsd: Unknown option '--bogus'; see wsd --help$/);
    failedWith(await wsd(["mount", "--token"]), 2, /^wsd: Option '--token <value>' argument missing; see wsd --help$/);
    failedWith(await wsd(["mount", "ftp://host/w/a", freeDir("x")]), 2, /^wsd: EINVAL: ftp:\/\/host\/w\/a is not a workspace URL/);
    failedWith(await wsd(["mount", "http://host/w/a"]), 2, /^wsd: wsd mount takes a workspace URL and a mountpoint; see wsd --help$/);
    failedWith(
      await wsd(["mount", "http://host/w/a", freeDir("y"), "--cache-max", "lots"]),
      2,
      /^wsd: --cache-max lots is not a size such as 500M or 2G; see wsd --help$/,
    );
  });

  it("a server that does not answer is 3", async () => {
    const closedPort = Number(new URL(server.url).port) + 1;
    failedWith(
      await wsd(["mount", `http://127.0.0.1:${closedPort}/w/a`, freeDir("unreachable")]),
      3,
      /^wsd: cannot reach .*ECONNREFUSED.*is the server running\?$/,
    );
  });

  it("a missing or wrong token is 4, with the server's sentence", async () => {
    failedWith(
      await wsd(["mount", `${guarded.url}/w/a`, freeDir("no-token")]),
      4,
      /refused the token: A valid bearer token for workspace a is required \(give one with --token/,
    );
    failedWith(await wsd(["mount", `${guarded.url}/w/a`, freeDir("bad-token"), "--token", "wrong"]), 4, /refused the token: A valid bearer token/);
    const readOnly = await scopedToken("cli-test-secret", "a", "read");
    failedWith(await wsd(["mount", `${guarded.url}/w/a`, freeDir("read-token"), "--token", readOnly]), 4, /refused: A read-only token cannot attach a wsd/);
  });

  it("a workspace name the server refuses is 5, with the server's sentence", async () => {
    failedWith(await wsd(["mount", `${server.url}/w/bad!name`, freeDir("bad-name")]), 5, /refused: "bad!name" is not a valid workspace name/);
  });

  it.skipIf(!canMount)("a mountpoint that is not empty, or not a directory, is 6", async () => {
    const full = freeDir("full");
    mkdirSync(full);
    writeFileSync(join(full, "keep.txt"), "mine");
    failedWith(await wsd(["mount", `${server.url}/w/a`, full, "--cache", freeDir("cache-full")]), 6, /is not empty; mount on an empty directory/);
    const file = freeDir("a-file");
    writeFileSync(file, "x");
    failedWith(await wsd(["mount", `${server.url}/w/a`, file, "--cache", freeDir("cache-file")]), 6, /is not a directory$/);
  });

  it.skipIf(!canMount)("no /dev/fuse is 7, and so is a user without the right to mount", async () => {
    const noFuse = await wsd(
      ["mount", `${server.url}/w/a`, freeDir("no-fuse"), "--cache", freeDir("cache-no-fuse")],
      ["unshare", "--mount", "sh", "-c", 'mount -t tmpfs none /dev && exec "$@"', "sh"],
    );
    failedWith(noFuse, 7, /^wsd: this machine has no \/dev\/fuse; in a container, run it with --device \/dev\/fuse/);
    const cache = freeDir("cache-nobody");
    mkdirSync(cache);
    chmodSync(cache, 0o777);
    const nobody = await wsd(
      ["mount", `${server.url}/w/a`, freeDir("nobody"), "--cache", cache],
      ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
    );
    failedWith(nobody, 7, /^wsd: no permission to use \/dev\/fuse; run wsd as root/);
  });

  it.skipIf(!canMount)("a mountpoint that already has a mount is 8; a missing one is created", async () => {
    const mountpoint = freeDir("created/deep");
    const first = spawnWsd(server.url, "busy", mountpoint, freeDir("cache-busy-1"));
    try {
      await first.mounted();
      expect(first.log()).toContain(`wsd: created ${mountpoint}`);
      failedWith(await wsd(["mount", `${server.url}/w/busy`, mountpoint, "--cache", freeDir("cache-busy-2")]), 8, /already has a FUSE mount; run wsd unmount/);
    } finally {
      await first.stop();
    }
  });
});
