/**
 * wsd's command runner on its own (no mount, no server): argv and shell forms, output streamed
 * in order while the command runs, stdin and env, caps, and kill. The barriers around it are
 * tested end to end in exec.node.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EXEC_LIMITS, type ExecRequest } from "../../src/wire/exec.ts";
import { startCommand } from "../../src/wsd/exec.ts";

const root = mkdtempSync(join(tmpdir(), "wsd-command-"));
mkdirSync(join(root, "sub dir"));

afterAll(() => rmSync(root, { recursive: true, force: true }));

function run(command: ExecRequest["command"], options: Partial<ExecRequest> = {}, cwd = "/") {
  const streamed: { stream: string; text: string; at: number }[] = [];
  const running = startCommand({ id: "t", rev: 0, command, ...options }, root, cwd, {
    stdout: (text) => streamed.push({ stream: "stdout", text, at: Date.now() }),
    stderr: (text) => streamed.push({ stream: "stderr", text, at: Date.now() }),
  });
  return { ...running, streamed };
}

describe("wsd's command runner", () => {
  it("runs an argv as is, without a shell, in the directory given", async () => {
    const { result } = run(["printf", "%s|", "a b", "$HOME", "*"], {}, "/sub dir");
    expect(await result).toMatchObject({ exitCode: 0, signal: null, stdout: "a b|$HOME|*|", stderr: "" });
    const pwd = await run(["pwd"], {}, "/sub dir").result;
    expect(pwd.stdout).toBe(`${join(root, "sub dir")}\n`);
  });

  it("runs a shell string with sh -c, with stdin and added environment", async () => {
    const { result } = run('read line; echo "$line and $EXTRA"; echo to-stderr >&2; exit 7', { stdin: "from stdin\n", env: { EXTRA: "more" } });
    expect(await result).toMatchObject({ exitCode: 7, stdout: "from stdin and more\n", stderr: "to-stderr\n", timedOut: false });
  });

  it("streams output as it comes, before the command ends", async () => {
    const { result, streamed } = run("echo one; sleep 0.4; echo two >&2");
    const ended = await result;
    expect(streamed.map(({ stream, text }) => [stream, text])).toEqual([
      ["stdout", "one\n"],
      ["stderr", "two\n"],
    ]);
    expect(streamed[1]!.at - streamed[0]!.at).toBeGreaterThanOrEqual(300);
    expect(ended.durationMs).toBeGreaterThanOrEqual(400);
  });

  it("keeps the head and tail of long output and counts all of it; streams only the first part", async () => {
    const { result, streamed } = run("head -c 3000000 /dev/zero | tr '\\0' a; echo; echo end");
    const ended = await result;
    expect(ended.stdoutChars).toBe(3_000_000 + "\nend\n".length);
    expect(ended.stdout.length).toBeLessThan(EXEC_LIMITS.keptChars + 100);
    expect(ended.stdout).toMatch(/^a+\n… \d+ characters left out …\na+\nend\n$/);
    expect(streamed.reduce((sum, { text }) => sum + text.length, 0)).toBe(EXEC_LIMITS.streamedChars);
  });

  it("decodes UTF-8 split across pieces", async () => {
    const { result } = run(["printf", "h\\303\\251 \\342\\202\\254 \\360\\237\\230\\200"]);
    expect((await result).stdout).toBe("hé € 😀");
  });

  it("kills the whole process group on kill and on timeout", async () => {
    const killed = run("sleep 30 & sleep 30");
    setTimeout(() => killed.kill("SIGTERM"), 200);
    expect(await killed.result).toMatchObject({ exitCode: null, signal: "SIGTERM", timedOut: false });
    const late = await run("trap '' TERM; sleep 30", { timeoutMs: 200 }).result;
    // SIGTERM is ignored, so the grace period ends in SIGKILL.
    expect(late).toMatchObject({ timedOut: true, signal: "SIGKILL" });
    expect(late.durationMs).toBeLessThan(5000);
  });

  it("fails clearly when the directory is not there", async () => {
    const { result } = run("true", {}, "/missing");
    const ended = await result;
    expect(ended.exitCode).not.toBe(0);
    expect(ended.stderr).toMatch(/missing/);
  });
});
