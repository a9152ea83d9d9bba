import { createTwoFilesPatch, FILE_HEADERS_ONLY } from "diff";
import { FsError } from "../workspace-do/errors.ts";

export interface TextEdit {
  old_text: string;
  new_text: string;
  /** Replace every occurrence instead of requiring exactly one. */
  replace_all?: boolean;
}

export interface EditOutcome {
  /** The new file text. */
  content: string;
  /** Unified diff of the change with 3 lines of context, headed `--- a/path` and `+++ b/path`. */
  diff: string;
  /** Regions replaced, over all edits. */
  replacements: number;
}

/**
 * Applies `edits` to `original`, the way a model expects a file edit to work. Every `old_text` is
 * located in the original text, not in the result of the edits before it, and the regions are
 * replaced together; an error in any edit throws an EINVAL {@link FsError} and nothing is applied.
 *
 * - `old_text` must occur exactly once, or at least once with `replace_all` (every
 *   non-overlapping occurrence is replaced). Regions of different edits must not overlap.
 * - When `old_text` is not found exactly, it may match whole lines compared with their whitespace
 *   trimmed and collapsed; if exactly one region matches, those lines are replaced and `new_text` is
 *   re-indented to the file's indentation. Never with `replace_all`, never when ambiguous.
 * - A file with CRLF line endings throughout is edited as LF and written back as CRLF, so edits
 *   may use either; a file with mixed endings is matched as is, then with `old_text` in CRLF.
 * - A leading BOM is kept and never matched. Nothing is appended or removed at the end of the file.
 *
 * `path` is only used in error messages and the diff header.
 */
export function applyEdits(path: string, original: string, edits: TextEdit[]): EditOutcome {
  if (edits.length === 0) throw refuse(path, "no edits were given; pass at least one { old_text, new_text }");
  const bom = original.startsWith("\uFEFF") ? "\uFEFF" : "";
  const raw = original.slice(bom.length);
  const eol = lineEndings(raw);
  const file = new Lines(eol === "crlf" ? raw.replaceAll("\r\n", "\n") : raw);
  const regions = edits.flatMap((edit, i) => locate(path, file, eol, edit, i + 1)).sort((a, b) => a.start - b.start);

  let content = "";
  let at = 0;
  regions.forEach((region, i) => {
    const before = regions[i - 1];
    if (before && region.start < before.end) {
      const [first, second] = [before.edit, region.edit].sort((a, b) => a - b);
      throw refuse(path, `edits ${first} and ${second} overlap at line ${lineOf(file, region.start)}; merge them into one edit`);
    }
    content += file.text.slice(at, region.start) + region.text;
    at = region.end;
  });
  content += file.text.slice(at);
  if (content === file.text) throw refuse(path, "the edits leave its content unchanged");

  const options = { context: 3, headerOptions: FILE_HEADERS_ONLY, maxEditLength: MAX_DIFF_LINES };
  const diff =
    createTwoFilesPatch(`a${path}`, `b${path}`, file.text, content, undefined, undefined, options) ??
    `(no diff: more than ${MAX_DIFF_LINES} lines were removed and added between lines ${lineOf(file, regions[0]!.start)} and ${lineOf(file, regions.at(-1)!.end - 1)}; read them to check the result)\n`;
  return { content: bom + (eol === "crlf" ? content.replaceAll("\n", "\r\n") : content), diff, replacements: regions.length };
}

/** Diffing time grows with the lines removed plus added, so a larger change gets a note instead of a diff. */
const MAX_DIFF_LINES = 1000;

type LineEndings = "lf" | "crlf" | "mixed";

/** The text being edited, split into lines only when a line number or the fallback needs it. */
class Lines {
  readonly text: string;
  #lines?: string[];
  #starts?: number[];
  #squashed?: string[];

  constructor(text: string) {
    this.text = text;
  }

  get lines(): string[] {
    return (this.#lines ??= this.text.split("\n"));
  }

  /** Offset of each line in `text`. */
  get starts(): number[] {
    if (!this.#starts) {
      this.#starts = [];
      let offset = 0;
      for (const line of this.lines) {
        this.#starts.push(offset);
        offset += line.length + 1;
      }
    }
    return this.#starts;
  }

  /** Each line trimmed, inner whitespace collapsed: what the whitespace-tolerant match compares. */
  get squashed(): string[] {
    return (this.#squashed ??= this.lines.map(squash));
  }
}

interface Region {
  start: number;
  end: number;
  text: string;
  edit: number;
}

const refuse = (path: string, sentence: string) => new FsError("EINVAL", path, `was not edited: ${sentence}`);

/** A file without line breaks counts as LF. */
function lineEndings(text: string): LineEndings {
  if (!text.includes("\r\n")) return "lf";
  return /(^|[^\r])\n/.test(text) ? "mixed" : "crlf";
}

function locate(path: string, file: Lines, eol: LineEndings, edit: TextEdit, n: number): Region[] {
  // In a file with consistent endings the edit takes the file's endings; a mixed file is matched raw.
  const own = (s: string) => (eol === "mixed" ? s : s.replaceAll("\r\n", "\n"));
  const oldText = own(edit.old_text);
  const newText = own(edit.new_text);
  if (oldText === "")
    throw refuse(path, `edit ${n}'s old_text is empty; quote the text to replace (to insert, quote a neighbouring line and repeat it in new_text)`);
  if (oldText === newText) throw refuse(path, `edit ${n}'s old_text and new_text are the same, so it changes nothing`);

  let needle = oldText;
  let starts = occurrences(file.text, needle);
  if (starts.length === 0 && eol === "mixed" && toCrlf(oldText) !== oldText) {
    needle = toCrlf(oldText);
    starts = occurrences(file.text, needle);
  }
  const replacement = needle.includes("\r\n") ? toCrlf(newText) : newText;
  const region = (start: number): Region => ({ start, end: start + needle.length, text: replacement, edit: n });

  if (edit.replace_all && starts.length > 0) return nonOverlapping(starts, needle.length).map(region);
  if (starts.length === 1) return [region(starts[0]!)];
  if (starts.length > 1) {
    const where = lineList(starts.map((start) => lineOf(file, start)));
    throw refuse(path, `edit ${n}'s old_text matches ${starts.length} times (${where}); include more surrounding lines to make it unique, or set replace_all`);
  }

  const oldLines = oldText.endsWith("\n") ? oldText.slice(0, -1).split("\n") : oldText.split("\n");
  const loose = looseMatches(file, oldLines);
  if (loose.length === 1 && !edit.replace_all) return [looseRegion(file, loose[0]!, oldLines, oldText.endsWith("\n"), newText, n)];
  if (loose.length > 0) {
    const why = edit.replace_all ? "but replace_all needs the exact text" : "so it is ambiguous";
    const where = lineList(loose.map((i) => i + 1));
    throw refuse(
      path,
      `edit ${n}'s old_text was not found exactly; ignoring whitespace it matches ${times(loose.length)} (${where}), ${why}; copy old_text exactly from the file`,
    );
  }
  throw refuse(path, `edit ${n}'s old_text was not found${nearMatch(file, oldLines)}; read the file again and copy old_text exactly`);
}

/** Every start of `needle`, overlapping ones included: "aa" occurs twice in "aaa", so it is ambiguous there. */
function occurrences(text: string, needle: string): number[] {
  const starts: number[] = [];
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) starts.push(at);
  return starts;
}

function nonOverlapping(starts: number[], length: number): number[] {
  const kept: number[] = [];
  let next = 0;
  for (const start of starts) {
    if (start < next) continue;
    kept.push(start);
    next = start + length;
  }
  return kept;
}

/** Starting line indexes where `oldLines` equal the file's lines with whitespace squashed. */
function looseMatches(file: Lines, oldLines: string[]): number[] {
  const want = oldLines.map(squash);
  if (want.every((line) => line === "")) return [];
  const found: number[] = [];
  for (let i = 0; i + want.length <= file.lines.length; i++) if (want.every((line, k) => file.squashed[i + k] === line)) found.push(i);
  return found;
}

/** The file's lines from `first` on, replaced whole by `newText` re-indented to match them. */
function looseRegion(file: Lines, first: number, oldLines: string[], withNewline: boolean, newText: string, n: number): Region {
  const last = first + oldLines.length - 1;
  const lastLine = file.lines[last]!;
  const start = file.starts[first]!;
  let end = file.starts[last]! + lastLine.length - (lastLine.endsWith("\r") ? 1 : 0);
  let text = reindent(newText, oldLines, file.lines.slice(first, last + 1));
  if (withNewline && last + 1 < file.lines.length) end = file.starts[last + 1]!;
  else if (withNewline) text = text.replace(/\r?\n$/, ""); // old_text ended with a newline the file does not have
  if (file.text.slice(start, end).includes("\r\n")) text = toCrlf(text);
  return { start, end, text, edit: n };
}

/**
 * Maps each indentation used in old_text to the file's indentation on the same line, then rewrites
 * new_text's indentation by the longest mapped prefix: this fixes tabs for spaces, a shifted block,
 * and a first line copied without its indentation alike. Lines with no mapped prefix are left.
 */
function reindent(newText: string, oldLines: string[], fileLines: string[]): string {
  const map = new Map<string, string>();
  oldLines.forEach((line, k) => {
    if (line.trim() !== "" && !map.has(indentOf(line))) map.set(indentOf(line), indentOf(fileLines[k]!));
  });
  const keys = [...map.keys()].sort((a, b) => b.length - a.length);
  return newText
    .split("\n")
    .map((line) => {
      const key = line.trim() === "" ? undefined : keys.find((indent) => line.startsWith(indent));
      return key === undefined ? line : map.get(key)! + line.slice(key.length);
    })
    .join("\n");
}

/**
 * A hint for an old_text that is not there: where its first lines match before it departs from the
 * file, or else the line most like its first line.
 */
function nearMatch(file: Lines, oldLines: string[]): string {
  const want = oldLines.map(squash);
  const k = want.findIndex((line) => line !== "");
  const probe = want[k];
  if (probe === undefined) return "";
  const likenessTo = likeness(probe);
  let best = { at: -1, run: 0, score: 0.5 }; // below this likeness a line is no hint
  file.squashed.forEach((line, at) => {
    const score = likenessTo(line);
    let run = 0;
    if (score === 1) while (k + run < want.length && want[k + run] === file.squashed[at + run]) run++;
    if (run > best.run || (run === best.run && score > best.score)) best = { at, run, score };
  });
  if (best.at < 0) return "";
  const departs = oldLines[k + best.run];
  if (best.run === 0 || departs === undefined) return `; the closest line is ${best.at + 1}: ${quote(file.lines[best.at]!)}`;
  const matched = best.run === 1 ? `line ${best.at + 1} matches its start` : `lines ${best.at + 1}-${best.at + best.run} match its start`;
  const next = best.at + best.run;
  const ended = next >= file.lines.length || (next === file.lines.length - 1 && file.text.endsWith("\n"));
  const there = ended ? "the file ends" : `line ${next + 1} has ${quote(file.lines[next]!)}`;
  return `; ${matched}, but then old_text has ${quote(departs)} where ${there}`;
}

/** Scores lines by likeness to `probe`: the Dice coefficient of their character pairs, 1 when equal. */
function likeness(probe: string): (line: string) => number {
  // Counts live in an array indexed by each distinct pair of probe, so scoring a line allocates nothing.
  const slots = new Map<number, number>();
  const counts: number[] = [];
  for (let i = 0; i < probe.length - 1; i++) {
    let slot = slots.get(pairAt(probe, i));
    if (slot === undefined) slots.set(pairAt(probe, i), (slot = counts.push(0) - 1));
    counts[slot]!++;
  }
  const left = new Int32Array(counts.length);
  return (line) => {
    if (line === probe) return 1;
    if (probe.length < 2 || line.length < 2) return 0;
    left.set(counts);
    let shared = 0;
    for (let i = 0; i < line.length - 1; i++) {
      const slot = slots.get(pairAt(line, i));
      if (slot !== undefined && left[slot]! > 0) {
        left[slot]!--;
        shared++;
      }
    }
    return (2 * shared) / (probe.length + line.length - 2);
  };
}

const pairAt = (text: string, i: number) => text.charCodeAt(i) * 0x10000 + text.charCodeAt(i + 1);

/** 1-based line of an offset. */
function lineOf(file: Lines, offset: number): number {
  let low = 0;
  let high = file.starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (file.starts[mid]! <= offset) low = mid;
    else high = mid - 1;
  }
  return low + 1;
}

function lineList(lines: number[]): string {
  const unique = [...new Set(lines)];
  const more = unique.length > 10 ? `, and ${unique.length - 10} more` : "";
  return `${unique.length === 1 ? "line" : "lines"} ${unique.slice(0, 10).join(", ")}${more}`;
}

/** Trims a line and collapses its inner whitespace, skipping the replace when there is nothing to collapse. */
function squash(line: string): string {
  const trimmed = line.trim();
  return /\s\s|[^\S ]/.test(trimmed) ? trimmed.replace(/\s+/g, " ") : trimmed;
}

const times = (count: number) => (count === 1 ? "once" : `${count} times`);
const indentOf = (line: string) => line.slice(0, line.length - line.trimStart().length);
const toCrlf = (text: string) => text.replaceAll("\r\n", "\n").replaceAll("\n", "\r\n");
const quote = (line: string) => JSON.stringify(line.length > 80 ? `${line.slice(0, 79)}…` : line);
