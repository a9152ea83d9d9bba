import type { ExecOutcome, ToolResult } from "./workspace.ts";

/** Characters of each stream an exec result shows: head and tail, as Claude Code's Bash does. */
export const SHOWN_OUTPUT_CHARS = 30_000;

/**
 * An exec outcome as a tool result: a text a model reads (status line, both streams cut from
 * the middle with their totals, the changed paths) and the same facts as structured content.
 * A command that fails is a successful tool call with its exit code; only not running is an error.
 */
export function execResult(outcome: ExecOutcome): ToolResult {
  const stdout = middleCut(outcome.stdout, outcome.stdoutChars);
  const stderr = middleCut(outcome.stderr, outcome.stderrChars);
  const ended = outcome.timedOut
    ? `timed out and was killed (${outcome.signal ?? `exit ${outcome.exitCode}`})`
    : outcome.signal
      ? `killed by ${outcome.signal}`
      : `exit code ${outcome.exitCode}`;
  const sections = [`${ended} · ${formatDuration(outcome.durationMs)} · wsd ${outcome.wsd}`];
  if (stdout.text) sections.push(`stdout${stdout.note}:\n${stdout.text.replace(/\n$/, "")}`);
  if (stderr.text) sections.push(`stderr${stderr.note}:\n${stderr.text.replace(/\n$/, "")}`);
  if (!stdout.text && !stderr.text) sections.push("(no output)");
  const changed = outcome.changes.map(({ path, change }) => `${{ created: "A", modified: "M", deleted: "D" }[change]} ${path}`);
  sections.push(changed.length ? `changed files:\n${changed.join("\n")}` : "changed files: none");
  for (const { path, keptAs } of outcome.conflicts) {
    sections.push(
      `conflict: ${path} also changed in the workspace while the command ran; the workspace's version stays${keptAs ? `, the command's is ${keptAs}` : ""}`,
    );
  }
  return {
    content: [{ type: "text", text: sections.join("\n\n") }],
    structuredContent: {
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      timedOut: outcome.timedOut,
      stdout: stdout.text,
      stderr: stderr.text,
      stdoutChars: outcome.stdoutChars,
      stderrChars: outcome.stderrChars,
      durationMs: outcome.durationMs,
      wsd: outcome.wsd,
      changes: outcome.changes,
      conflicts: outcome.conflicts,
    },
  };
}

/** Keeps a stream within {@link SHOWN_OUTPUT_CHARS}, cutting from the middle; `total` is what the command wrote. */
function middleCut(kept: string, total: number): { text: string; note: string } {
  const shown = kept.length <= SHOWN_OUTPUT_CHARS ? kept : `${kept.slice(0, SHOWN_OUTPUT_CHARS / 2)}\n… cut …\n${kept.slice(-SHOWN_OUTPUT_CHARS / 2)}`;
  const note = shown.length < total ? ` (${total} characters; the middle is left out)` : "";
  return { text: shown, note };
}

const formatDuration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
