import { describe, expect, it } from "vitest";
import type { WorkspaceFs } from "../../../src/workspace-do/engine.ts";
import { type GrepOptions, grep } from "../../../src/workspace-do/search.ts";
import type { SuiteContext } from "./helpers.ts";

const MiB = 1024 * 1024;

/** Paths of the files with a line matching `pattern`. */
const hits = (fs: WorkspaceFs, pattern: string, options: Partial<GrepOptions> = {}) =>
  grep(fs, { pattern, mode: "files", limit: 10_000, ...options }).files!.map((file) => file.path);

const indexed = (fs: WorkspaceFs) => fs.usage().contentIndex!;

/** grep's contract read literally: every line of every text file, cut at 1,000 characters, tested alone. */
function naiveGrep(fs: WorkspaceFs, regex: RegExp): string[] {
  const found: string[] = [];
  for (const { path, type } of fs.walk("/")) {
    if (type !== "file") continue;
    const bytes = fs.readFile(path);
    if (bytes.subarray(0, 8000).includes(0)) continue;
    const text = new TextDecoder().decode(bytes);
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    for (const [index, raw] of lines.entries()) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      const clipped = line.length > 1000 ? `${line.slice(0, 1000)}…` : line;
      if (regex.test(clipped)) found.push(`${path}:${index + 1}:${clipped}`);
    }
  }
  return found;
}

/** A tree with what grep treats specially: case, unicode, CRLF, long lines, binary and large files, ignores, links. */
function corpus(fs: WorkspaceFs): void {
  fs.mkdir("/src/lib", { recursive: true });
  fs.mkdir("/node_modules/m", { recursive: true });
  fs.writeFile("/.gitignore", "node_modules/\n*.log\n");
  fs.writeFile("/src/app.ts", "import x from 'x';\nconst TODO = 1;\n// todo: later\nexport default function main() {}\n");
  fs.writeFile("/src/lib/util.ts", "export const a = 1;\r\nexport const b = 2;\r\n// TODO split\r\nΣίσυφος and σίσυφος\r\n");
  fs.writeFile("/src/notes.md", "TODO: docs\nStraße und STRASSE\nno newline at end TODO");
  fs.writeFile("/src/emoji.txt", "rocket 🚀 launch\nfaçade Façade FAÇADE\nK kelvin \u212a sign\n");
  fs.writeFile("/src/long.txt", `${"x".repeat(995)}needle-after-the-cut\nshort needle\n`);
  fs.writeFile("/src/image.bin", new Uint8Array([0x89, 0, 1, 2, 84, 79, 68, 79]));
  fs.writeFile("/src/late-nul.txt", `${"text ".repeat(2000)}\0TODO after a NUL\n`);
  fs.writeFile("/src/big.txt", `${`${"filler ".repeat(140)}\n`.repeat(Math.ceil(MiB / 981))}big TODO at the end\n`);
  fs.writeFile("/src/debug.log", "TODO in a log\n");
  fs.writeFile("/node_modules/m/index.js", "module TODO\n");
  fs.writeFile("/src/empty.txt", "");
  fs.writeFile("/src/blank-lines.txt", "first\n\nthird \n");
  fs.writeFile("/src/no-blank.txt", "one line\n");
  fs.link("/src/app.ts", "/src/lib/app-link.ts");
  fs.symlink("/src", "/src-link");
}

const PATTERNS = [
  "TODO",
  "todo",
  "TODO|FIXME",
  "const [ab] =",
  "function\\s+\\w+\\(",
  "^export",
  "TODO$",
  "\\r$",
  "a",
  "to",
  ".*",
  "\\w+",
  "Straße",
  "STRASSE",
  "σίσυφος",
  "Σίσυφος",
  "façade",
  "🚀",
  "rocket 🚀",
  "kelvin",
  "\u212a sign",
  "needle-after",
  "x…",
  "xx…",
  "needle",
  "(?<=short )needle",
  "[Tt]odo",
  "colou?r",
  "end TODO",
  "nothing matches this",
  "^$",
  "$",
  "^\\s*$",
  "\\s$",
  "x*",
];

/** The content index: kept with every write, built lazily, off by option; grep answers as without it. */
export function describeContentIndex({ host, run }: SuiteContext): void {
  describe("content index", () => {
    it("gives grep exactly the results of reading every file, for every pattern, case and mode", () =>
      host.withStorage((open) => {
        const fs = open();
        corpus(fs);
        const options: Partial<GrepOptions>[] = [
          {},
          { ignoreCase: true },
          { mode: "count" },
          { context: 1, ignoreCase: true },
          { include: "*.ts" },
          { gitignore: false },
        ];
        const searches = PATTERNS.flatMap((pattern) => options.map((option) => ({ pattern, ...option })));
        searches.push({ pattern: "x.ss", literal: true }, { pattern: "TODO", path: "/src/lib" }, { pattern: "TODO", path: "/src-link" });
        const answer = (engine: WorkspaceFs) =>
          searches.map((search) => {
            const { filesSearched: _read, ...result } = grep(engine, { limit: 1000, ...search });
            return result;
          });
        const withIndex = answer(fs);
        expect(indexed(fs)).toMatchObject({ complete: true });
        // A rare literal reads only the files that hold it (and those the index cannot take).
        expect(grep(fs, { pattern: "short needle" }).filesSearched).toBeLessThan(
          grep(open({ contentIndex: false }), { pattern: "short needle" }).filesSearched,
        );
        const scanned = answer(open({ contentIndex: false }));
        for (const [index, search] of searches.entries()) expect(withIndex[index], JSON.stringify(search)).toEqual(scanned[index]);
        // And both as a plain reading of every line of every file gives them.
        for (const pattern of PATTERNS) {
          for (const ignoreCase of [false, true]) {
            const found = grep(fs, { pattern, ignoreCase, gitignore: false, limit: 1000 }).lines!.map((line) => `${line.path}:${line.line}:${line.text}`);
            const naive = naiveGrep(fs, new RegExp(pattern, ignoreCase ? "i" : ""));
            expect(found, `${pattern} ${ignoreCase}`).toEqual(naive.slice(0, 1000));
            // Files mode answers from a file's first match (often from the whole text at once): the same files.
            const files = grep(fs, { pattern, ignoreCase, gitignore: false, mode: "files", limit: 1000 }).files!.map((file) => file.path);
            expect(files, `files: ${pattern} ${ignoreCase}`).toEqual([...new Set(naive.map((line) => line.slice(0, line.indexOf(":"))))]);
          }
        }
      }));

    it("pages exactly as reading every file does (a cursor, opaque, may name a later file: the next the index could not rule out)", () =>
      host.withStorage((open) => {
        const fs = open();
        fs.mkdir("/d/skip", { recursive: true });
        fs.writeFile("/d/.gitignore", "skip/\n");
        for (let i = 0; i < 12; i++) fs.writeFile(`/d/f${i}`, i % 3 === 0 ? "no match here\n" : `hit one ${i}\nhit two ${i}\n`);
        fs.writeFile("/d/skip/s", "hit skipped\n");
        const pages = (engine: WorkspaceFs, mode: GrepOptions["mode"]) => {
          const seen: unknown[] = [];
          let cursor: string | undefined;
          do {
            const page = grep(engine, { pattern: "hit", mode, limit: 3, cursor });
            seen.push({ lines: page.lines, files: page.files, more: page.nextCursor !== undefined });
            cursor = page.nextCursor;
          } while (cursor);
          return seen;
        };
        const withIndex = [pages(fs, "lines"), pages(fs, "files")];
        expect(withIndex[0]!.length).toBeGreaterThan(3);
        expect([pages(open({ contentIndex: false }), "lines"), pages(open({ contentIndex: false }), "files")]).toEqual(withIndex);
      }));

    it("follows every kind of write in the same transaction: create, overwrite, append, truncate, copy, rename, links, unlink", () =>
      run(
        async (fs) => {
          fs.mkdir("/d");
          fs.writeFile("/d/a", "alpha needle\n");
          expect(hits(fs, "needle")).toEqual(["/d/a"]);
          fs.writeFile("/d/a", "alpha only\n");
          expect(hits(fs, "needle")).toEqual([]);
          fs.appendFile("/d/a", "appended needle\n");
          fs.write("/d/a", "NEEDLE", 0);
          expect(hits(fs, "needle")).toEqual(["/d/a"]);
          expect(hits(fs, "NEEDLE")).toEqual(["/d/a"]);
          fs.truncate("/d/a", 6);
          expect(hits(fs, "needle")).toEqual([]);
          fs.writeFile("/d/b", "bravo needle\n");
          fs.copy("/d/b", "/d/c");
          fs.rename("/d/b", "/e", { parents: false });
          expect(hits(fs, "bravo")).toEqual(["/d/c", "/e"]);
          fs.link("/e", "/d/hard");
          expect(hits(fs, "bravo")).toEqual(["/d/c", "/d/hard", "/e"]);
          fs.write("/d/hard", "BRAVO", 0);
          expect(hits(fs, "BRAVO")).toEqual(["/d/hard", "/e"]);
          fs.unlink("/e");
          expect(hits(fs, "BRAVO")).toEqual(["/d/hard"]);
          fs.rm("/d", { recursive: true });
          expect(hits(fs, "needle")).toEqual([]);
          await fs.writeFileStream(
            "/streamed",
            (async function* () {
              yield new TextEncoder().encode("streamed needle\n");
            })(),
          );
          fs.writeFile("/x", "x");
          expect(hits(fs, "needle")).toEqual(["/streamed"]);
          expect(indexed(fs)).toMatchObject({ files: 2, textBytes: 17, complete: true });
          expect(indexed(fs).indexBytes).toBeGreaterThan(0);
        },
        { chunkSize: 8 },
      ));

    it("drops a file that grows past 1 MiB or turns binary from the index, and still finds it by reading it", () =>
      run((fs) => {
        fs.writeFile("/grows", "needle\n");
        fs.writeFile("/turns", "needle\n");
        expect(fs.buildContentIndex()).toBe(0);
        expect(indexed(fs)).toMatchObject({ files: 2, textBytes: 14 });
        fs.appendFile("/grows", `${"y".repeat(MiB)}\nneedle again\n`);
        fs.write("/turns", new Uint8Array([0]), 0);
        expect(indexed(fs)).toMatchObject({ files: 0, textBytes: 0, pending: 2 });
        fs.buildContentIndex();
        expect(indexed(fs)).toMatchObject({ files: 0, textBytes: 0, pending: 0 });
        const result = grep(fs, { pattern: "needle", mode: "count" });
        expect(result.files).toEqual([{ path: "/grows", count: 2 }]);
        expect(result.binaryFilesSkipped).toBe(1);
        fs.truncate("/grows", 7);
        fs.writeFile("/turns", "needle\n");
        fs.buildContentIndex();
        expect(indexed(fs)).toMatchObject({ files: 2, textBytes: 14 });
      }));

    it("marks a write's files pending in its transaction; the next search reads them, then indexes them in batches", () =>
      run(
        (fs) => {
          for (let i = 0; i < 5; i++) fs.writeFile(`/f${i}`, i === 4 ? "needle\n" : `hay ${i}\n`);
          expect(indexed(fs)).toMatchObject({ files: 0, pending: 5, complete: true });
          expect(hits(fs, "needle")).toEqual(["/f4"]);
          expect(indexed(fs)).toMatchObject({ files: 2, pending: 3 });
          fs.writeFile("/f0", "needle now\n");
          expect(hits(fs, "needle")).toEqual(["/f0", "/f4"]);
          expect(hits(fs, "needle")).toEqual(["/f0", "/f4"]);
          expect(indexed(fs)).toMatchObject({ files: 5, pending: 0 });
          // Nothing left to index: only the index's hits are read.
          expect(grep(fs, { pattern: "needle" }).filesSearched).toBe(2);
          fs.rm("/f4");
          expect(indexed(fs)).toMatchObject({ files: 4, pending: 1 });
          expect(hits(fs, "needle")).toEqual(["/f0"]);
          expect(indexed(fs)).toMatchObject({ files: 4, pending: 0 });
        },
        { contentIndex: { buildBatch: 2 } },
      ));

    it("sees the writes of its own batch and forgets those a rollback undid", () =>
      run((fs) => {
        fs.writeFile("/kept", "old text\n");
        fs.batch(() => {
          fs.writeFile("/new", "fresh needle\n");
          expect(hits(fs, "needle")).toEqual(["/new"]);
        });
        const before = indexed(fs);
        expect(() =>
          fs.batch(() => {
            fs.writeFile("/kept", "needle that never was\n");
            fs.writeFile("/gone", "needle that never was\n");
            expect(hits(fs, "never was")).toEqual(["/gone", "/kept"]);
            throw new Error("roll back");
          }),
        ).toThrow("roll back");
        expect(hits(fs, "never was")).toEqual([]);
        expect(hits(fs, "old text")).toEqual(["/kept"]);
        expect(indexed(fs)).toEqual(before);
      }));

    it("is kept by history's restore and undo, which write through the same path", () =>
      run(
        (fs) => {
          const history = fs.history!;
          fs.writeFile("/f", "needle one\n");
          const checkpoint = history.checkpoint("before");
          fs.writeFile("/f", "plain\n");
          fs.writeFile("/g", "needle two\n");
          expect(hits(fs, "needle")).toEqual(["/g"]);
          history.restore({ to: { checkpoint: checkpoint.id } });
          expect(hits(fs, "needle")).toEqual(["/f"]);
          fs.withSource({ kind: "mcp", call: "c1" }, () => fs.writeFile("/f", "needle three\n"));
          expect(hits(fs, "three")).toEqual(["/f"]);
          history.undo({ calls: ["c1"] });
          expect(hits(fs, "three")).toEqual([]);
          expect(hits(fs, "needle one")).toEqual(["/f"]);
        },
        { history: true },
      ));

    it("turned off, is dropped and grep reads every file; turned on again, it is rebuilt lazily with the scan meanwhile", () =>
      host.withStorage((open) => {
        const first = open();
        for (let i = 0; i < 7; i++) first.writeFile(`/f${i}`, i === 5 ? "needle\n" : `text ${i}\n`);
        first.buildContentIndex();
        expect(indexed(first).files).toBe(7);
        const off = open({ contentIndex: false });
        expect(off.usage().contentIndex).toBeUndefined();
        off.writeFile("/f6", "needle written while off\n");
        expect(hits(off, "needle")).toEqual(["/f5", "/f6"]);
        expect(off.searchCandidates([["needle"]])).toBeUndefined();

        const on = open({ contentIndex: { buildBatch: 3 } });
        expect(indexed(on)).toMatchObject({ files: 0, complete: false });
        // Each search indexes one more batch and reads the files not indexed yet.
        expect(hits(on, "needle")).toEqual(["/f5", "/f6"]);
        expect(indexed(on)).toMatchObject({ files: 3, complete: false });
        expect(hits(on, "needle")).toEqual(["/f5", "/f6"]);
        expect(hits(on, "needle")).toEqual(["/f5", "/f6"]);
        expect(indexed(on)).toMatchObject({ files: 7, complete: true });
        expect(grep(on, { pattern: "needle" }).filesSearched).toBe(2);
      }));
  });
}
