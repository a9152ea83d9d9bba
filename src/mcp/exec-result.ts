import type { ExecOutcome, PathChange, ToolResult } from "./workspace.ts";

/** Changed paths an exec result lists one by one; past that, the largest directories are summed up. */
export const LISTED_CHANGES = 200;

/** Characters of each stream an exec result shows: head and tail, as Claude Code's Bash does. */
export const SHOWN_OUTPUT_CHARS = 30_000;

/**
 * Characters of each stream the structured content repeats (head and tail): the full copy is the
 * text's, which every client shows a model, so a large output is not sent twice; programs that
 * read `structuredContent.stdout` still get short outputs whole.
 */
export const STRUCTURED_OUTPUT_CHARS = 4000;

/**
 * An exec outcome as a tool result: a text a model reads (status line, both streams cut from
 * the middle with their totals, the changed paths) and the same facts as structured content,
 * whose streams are cut shorter ({@link STRUCTURED_OUTPUT_CHARS}).
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
  const where = outcome.sandbox === "none" ? "no sandbox: the workspace's own shell" : `wsd ${outcome.wsd}`;
  const sections = [`${ended} · ${formatDuration(outcome.durationMs)} · ${where} · ${outcome.id}`];
  if (stdout.text) sections.push(`stdout${stdout.note}:\n${stdout.text.replace(/\n$/, "")}`);
  if (stderr.text) sections.push(`stderr${stderr.note}:\n${stderr.text.replace(/\n$/, "")}`);
  if (!stdout.text && !stderr.text) sections.push("(no output)");
  const summary = summarizeChanges(outcome.changes);
  const changed = summary.listed.map(({ path, change }) => `${{ created: "A", modified: "M", deleted: "D" }[change]} ${path}`);
  for (const group of summary.byDirectory) changed.push(`${group.directory}: ${describeGroup(group)}`);
  const heading = summary.byDirectory.length
    ? `changed files (${summary.total.toLocaleString("en-US")}; ${summary.listed.length} listed, the rest by directory)`
    : "changed files";
  sections.push(
    changed.length ? `${heading}:\n${changed.join("\n")}\n(undo {"call": "${outcome.id}"} reverts what this command changed)` : "changed files: none",
  );
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
      stdout: middleCut(stdout.text, stdout.text.length, STRUCTURED_OUTPUT_CHARS).text,
      stderr: middleCut(stderr.text, stderr.text.length, STRUCTURED_OUTPUT_CHARS).text,
      stdoutChars: outcome.stdoutChars,
      stderrChars: outcome.stderrChars,
      durationMs: outcome.durationMs,
      id: outcome.id,
      wsd: outcome.wsd,
      sandbox: outcome.sandbox,
      changes: summary.listed,
      changesTotal: summary.total,
      changesByDirectory: summary.byDirectory,
      conflicts: outcome.conflicts,
    },
  };
}

/** Keeps a stream within `limit` characters, cutting from the middle; `total` is what the command wrote. */
function middleCut(kept: string, total: number, limit = SHOWN_OUTPUT_CHARS): { text: string; note: string } {
  const shown = kept.length <= limit ? kept : `${kept.slice(0, limit / 2)}\n… cut …\n${kept.slice(-limit / 2)}`;
  const note = shown.length < total ? ` (${total} characters; the middle is left out)` : "";
  return { text: shown, note };
}

export const formatDuration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

/** The changes under one top-level directory, counted instead of listed. */
interface DirectoryChanges {
  directory: string;
  created: number;
  modified: number;
  deleted: number;
}

/**
 * At most {@link LISTED_CHANGES} lines of changes: every path when they fit, else the largest
 * top-level directories (`/node_modules/`, `/.git/`) summed up, largest first, until the rest
 * fits, so a model sees what a command did to the project without 30,000 lines of `npm install`.
 */
function summarizeChanges(changes: PathChange[]): { listed: PathChange[]; byDirectory: DirectoryChanges[]; total: number } {
  if (changes.length <= LISTED_CHANGES) return { listed: changes, byDirectory: [], total: changes.length };
  const groups = new Map<string, PathChange[]>();
  for (const change of changes) {
    const slash = change.path.indexOf("/", 1);
    const key = slash === -1 ? change.path : change.path.slice(0, slash + 1);
    const members = groups.get(key);
    if (members) members.push(change);
    else groups.set(key, [change]);
  }
  const collapsed = new Set<string>();
  let lines = changes.length;
  for (const [key, members] of [...groups].filter(([key]) => key.endsWith("/")).sort((a, b) => b[1].length - a[1].length)) {
    if (lines <= LISTED_CHANGES) break;
    collapsed.add(key);
    lines += 1 - members.length;
  }
  const byDirectory = [...collapsed].map((directory) => {
    const counts: DirectoryChanges = { directory, created: 0, modified: 0, deleted: 0 };
    for (const { change } of groups.get(directory)!) counts[change]++;
    return counts;
  });
  const listed = changes.filter((change) => ![...collapsed].some((directory) => change.path.startsWith(directory))).slice(0, LISTED_CHANGES);
  return { listed, byDirectory, total: changes.length };
}

function describeGroup({ created, modified, deleted }: DirectoryChanges): string {
  const parts = [
    created && `${created.toLocaleString("en-US")} created`,
    modified && `${modified.toLocaleString("en-US")} modified`,
    deleted && `${deleted.toLocaleString("en-US")} deleted`,
  ];
  return `${(created + modified + deleted).toLocaleString("en-US")} files (${parts.filter(Boolean).join(", ")})`;
}
