import { describe, expect, it } from "vitest";
import { execResult, LISTED_CHANGES, SHOWN_OUTPUT_CHARS, STRUCTURED_OUTPUT_CHARS } from "../../src/mcp/exec-result.ts";
import type { ExecOutcome, PathChange } from "../../src/mcp/workspace.ts";

const outcome = (changes: PathChange[]): ExecOutcome => ({
  exitCode: 0,
  signal: null,
  timedOut: false,
  stdout: "",
  stderr: "",
  stdoutChars: 0,
  stderrChars: 0,
  durationMs: 10,
  id: "exec-1",
  wsd: "box",
  sandbox: "wsd",
  changes,
  conflicts: [],
});

const many = (prefix: string, count: number, change: PathChange["change"] = "created"): PathChange[] =>
  Array.from({ length: count }, (_, i) => ({ path: `${prefix}${i}.js`, change }));

describe("exec result", () => {
  it("sends a large output once at full length: the text has it, the structured content a short head and tail", () => {
    const megabyte = `${"x".repeat(63)}\n`.repeat(16 * 1024); // 1 MiB of output, as wsd keeps its head and tail
    const result = execResult({ ...outcome([]), stdout: megabyte.slice(0, 32_768) + megabyte.slice(-32_768), stdoutChars: megabyte.length });
    const text = result.content[0]!.type === "text" ? result.content[0]!.text : "";
    const structured = result.structuredContent as { stdout: string; stdoutChars: number };
    expect(text.length).toBeGreaterThan(SHOWN_OUTPUT_CHARS);
    expect(structured.stdout.length).toBeLessThanOrEqual(STRUCTURED_OUTPUT_CHARS + "\n… cut …\n".length);
    expect(structured.stdoutChars).toBe(1024 * 1024);
    expect(JSON.stringify(result).length).toBeLessThan(SHOWN_OUTPUT_CHARS + STRUCTURED_OUTPUT_CHARS + 2000);
    const short = execResult({ ...outcome([]), stdout: "ok\n", stdoutChars: 3 });
    expect((short.structuredContent as { stdout: string }).stdout).toBe("ok\n");
  });

  it("lists every changed path while they fit", () => {
    const result = execResult(outcome([...many("/src/f", 3), { path: "/README.md", change: "modified" }]));
    const text = result.content[0]!.type === "text" ? result.content[0]!.text : "";
    expect(text).toContain("changed files:\nA /src/f0.js\nA /src/f1.js\nA /src/f2.js\nM /README.md");
    expect(result.structuredContent).toMatchObject({ changesTotal: 4, changesByDirectory: [] });
  });

  it("past the cap, sums up the largest directories and lists the rest, in text and structured content alike", () => {
    const changes = [
      ...many("/node_modules/pkg/f", 31_204),
      ...many("/.git/objects/o", 45),
      ...many("/src/f", 5, "modified"),
      { path: "/package.json", change: "modified" as const },
    ];
    const result = execResult(outcome(changes));
    const text = result.content[0]!.type === "text" ? result.content[0]!.text : "";
    const lines = text.slice(text.indexOf("changed files")).split("\n");
    expect(lines[0]).toBe("changed files (31,255; 51 listed, the rest by directory):");
    expect(lines).toContain("/node_modules/: 31,204 files (31,204 created)");
    expect(lines).toContain("M /src/f4.js");
    expect(lines).toContain("A /.git/objects/o44.js"); // small enough to list once node_modules is summed up
    expect(lines.length).toBeLessThanOrEqual(LISTED_CHANGES + 2);
    expect(result.structuredContent).toMatchObject({
      changesTotal: 31_255,
      changesByDirectory: [{ directory: "/node_modules/", created: 31_204, modified: 0, deleted: 0 }],
    });
    expect((result.structuredContent as { changes: PathChange[] }).changes).toHaveLength(51);
  });
});
