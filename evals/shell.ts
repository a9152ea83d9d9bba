/** Command checks run by a local shell in a directory: the peer's folder, or a tree written out for a test. */
import { execFile } from "node:child_process";
import type { CommandResult, CommandRunner } from "./checks.ts";

export function localShell(dir: string, timeoutMs = 120_000): CommandRunner {
  return {
    run: (command: string) =>
      new Promise<CommandResult>((resolve) => {
        execFile("sh", ["-c", command], { cwd: dir, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
          const failed = error as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
          const exitCode = !failed ? 0 : typeof failed.code === "number" ? failed.code : null;
          resolve({ exitCode, signal: failed?.signal ?? null, stdout, stderr: stderr || (exitCode === null ? String(failed?.message) : "") });
        });
      }),
  };
}
