import picomatch from "picomatch";
import type { FileType, WalkEntry, WorkspaceFs } from "./engine.ts";
import { FsError } from "./errors.ts";
import { createIgnoreFilter } from "./gitignore.ts";
import { looksBinary, textLines } from "./lines.ts";
import { baseName, comparePaths, isWithin, normalizePath, parentOf, splitPath } from "./paths.ts";
import { requiredLiterals } from "./regex-literals.ts";

export { createIgnoreFilter, type IgnoreFilter } from "./gitignore.ts";

/**
 * `find` and `grep` over a {@link WorkspaceFs}: both walk the tree in sorted order, prune
 * excluded and git-ignored directories without entering them, and page with an opaque cursor.
 */

export interface FindOptions {
  /** Glob against the path relative to `path`: `*`, `**`, `?`, `{a,b}`, `[ab]`. */
  pattern: string;
  /** Directory to search. Default `/`. */
  path?: string;
  /** Globs to leave out; a directory that matches is not entered. A glob without `/` matches a name at any depth. */
  exclude?: string[];
  /** Match names starting with a dot. Default true. */
  dot?: boolean;
  /**
   * Skip `.git/` and what `.gitignore` files ignore, as ripgrep does. Default true; false
   * searches everything. See {@link createIgnoreFilter}.
   */
  gitignore?: boolean;
  /** Most matches per page. Default 1000. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface FindResult {
  matches: { path: string; type: FileType }[];
  /** Present when more matches may follow: pass it as `cursor`. */
  nextCursor?: string;
}

export function find(fs: WorkspaceFs, options: FindOptions): FindResult {
  const root = normalizePath(options.path ?? "/");
  const isMatch = compileGlob(options.pattern, "pattern", options.dot ?? true);
  const skipped = compileSkip(fs, root, compileExcludes(options.exclude, options.dot ?? true), options.gitignore);
  const limit = pageLimit(options.limit, 1000);
  const matches: FindResult["matches"] = [];
  const entries = fs.walk(root, {
    maxDepth: globDepth(options.pattern),
    enter: (entry) => !skipped(entry),
    after: options.cursor,
  });
  for (const entry of entries) {
    if (entry.type !== "directory" && skipped(entry)) continue;
    const rel = relative(root, entry.path);
    if (!isMatch(rel)) continue;
    if (matches.length === limit) return { matches, nextCursor: matches[limit - 1]!.path };
    matches.push({ path: entry.path, type: entry.type });
  }
  return { matches };
}

export interface GrepOptions {
  /** A regular expression (JavaScript syntax), or plain text with `literal`. */
  pattern: string;
  literal?: boolean;
  ignoreCase?: boolean;
  /** File or directory to search. Default `/`. */
  path?: string;
  /** Search only files matching this glob (without `/`: by name at any depth). */
  include?: string;
  /** Globs to leave out, as in {@link FindOptions.exclude}. */
  exclude?: string[];
  /**
   * Skip `.git/` and what `.gitignore` files ignore, as ripgrep does. Default true; false
   * searches everything. A file named as `path` is searched even when ignored.
   */
  gitignore?: boolean;
  /** Lines of context before and after each match. Default 0. */
  context?: number;
  /** `lines`: each matching line; `files`: each file with a match; `count`: matches per file. Default `lines`. */
  mode?: "lines" | "files" | "count";
  /** Most results per page. Default 100. */
  limit?: number;
  cursor?: string;
  /** Longer lines are cut to this many characters. Default 1000. */
  maxLineLength?: number;
}

export interface GrepLine {
  path: string;
  /** 1-based line number. */
  line: number;
  text: string;
  before?: string[];
  after?: string[];
}

export interface GrepResult {
  /** With mode `lines`. */
  lines?: GrepLine[];
  /** With mode `files` and `count`. */
  files?: { path: string; count?: number }[];
  /**
   * Files whose lines were tested. With the content index, files it ruled out (they cannot hold a
   * match) are never read and not counted.
   */
  filesSearched: number;
  /** Files skipped because they look binary (a NUL byte near the start). */
  binaryFilesSkipped: number;
  nextCursor?: string;
}

export function grep(fs: WorkspaceFs, options: GrepOptions): GrepResult {
  const mode = options.mode ?? "lines";
  const regex = compileRegex(options);
  const limit = pageLimit(options.limit, 100);
  const context = Math.max(0, Math.floor(options.context ?? 0));
  const maxLineLength = options.maxLineLength ?? 1000;
  const root = normalizePath(options.path ?? "/");
  const included = options.include === undefined ? () => true : compileScoped(options.include, "include", true);
  const excluded = compileExcludes(options.exclude, true);
  const skipped = compileSkip(fs, root, excluded, options.gitignore);
  const cursor = parseCursor(options.cursor);
  const result: GrepResult = { filesSearched: 0, binaryFilesSkipped: 0 };
  const lines: GrepLine[] = [];
  const files: { path: string; count?: number }[] = [];
  if (mode === "lines") result.lines = lines;
  else result.files = files;
  const full = () => (mode === "lines" ? lines.length : files.length) >= limit;
  const prefilter = wholeTextFilter(regex);

  // A file named as the path is searched even when ignored, as ripgrep does.
  const single = fs.stat(root).type !== "directory";
  // The content index names the files that can match; the rest are never read. (A root behind a
  // symlink is walked: the walk's paths, not the index's, are the ones it reports.)
  const query = single ? undefined : requiredLiterals(options.pattern, options);
  const indexed = query && fs.realpath(root) === root ? fs.searchCandidates(query) : undefined;
  const candidates = function* (): Generator<WalkEntry> {
    if (single) return yield { path: fs.realpath(root), type: "file", depth: 0 };
    // A cursor names the file to resume in; the walk goes on after it.
    if (cursor && fs.exists(cursor.path) && (!indexed || indexed.some((file) => file.path === cursor.path))) {
      yield { path: cursor.path, type: fs.lstat(cursor.path).type, depth: 0 };
    }
    if (indexed) yield* entered(indexed, root, cursor?.path, skipped);
    else yield* fs.walk(root, { enter: (entry) => !skipped(entry), after: cursor?.path });
  };
  const searched = function* (): Generator<string> {
    for (const entry of candidates()) {
      if (entry.type !== "file") continue;
      const rel = relative(root, entry.path) || baseName(entry.path);
      if ((single ? excluded(rel) : skipped(entry)) || !included(rel)) continue;
      yield entry.path;
    }
  };

  for (const { path, chunks } of prefetched(fs, searched())) {
    if (full()) return { ...result, nextCursor: `0:${path}` };
    const skipLines = cursor?.path === path ? cursor.line : 0;
    const maxMatches = mode === "files" ? 1 : mode === "lines" ? limit - lines.length + 1 : Infinity;
    const scan = scanFile(path, chunks ?? fs.chunksOf(path), regex, prefilter, context, maxLineLength, skipLines, maxMatches);
    if (scan === "binary") {
      result.binaryFilesSkipped++;
      continue;
    }
    result.filesSearched++;
    if (mode === "lines") {
      for (const match of scan) {
        if (full()) return { ...result, nextCursor: `${lines[lines.length - 1]!.line}:${path}` };
        lines.push(match);
      }
    } else if (scan.length > 0) {
      files.push(mode === "count" ? { path, count: scan.length } : { path });
    }
  }
  return result;
}

/**
 * The candidates below `root` after the cursor `after`, as the walk would reach them: a file is
 * given only when the walk would enter every directory above it (`skipped` is asked about
 * each directory once, top-down, and never about one the walk would not reach).
 */
function* entered(
  candidates: { path: string }[],
  root: string,
  after: string | undefined,
  skipped: (entry: { path: string; type: FileType }) => boolean,
): Generator<WalkEntry> {
  const verdicts = new Map<string, boolean>();
  const enters = (dir: string): boolean => {
    if (dir === root) return true;
    let verdict = verdicts.get(dir);
    if (verdict === undefined) {
      verdict = enters(parentOf(dir)) && !skipped({ path: dir, type: "directory" });
      verdicts.set(dir, verdict);
    }
    return verdict;
  };
  for (const { path } of candidates) {
    if (path === root || !isWithin(path, root)) continue;
    if (after !== undefined && comparePaths(path, after) <= 0) continue;
    if (enters(parentOf(path))) yield { path, type: "file", depth: splitPath(path).length - splitPath(root).length };
  }
}

/** Files up to this size are read many to a query, ahead of the search. */
const PREFETCH_MAX_BYTES = 256 * 1024;
/** Files read per query: starting small, so a page that fills early reads little it does not need. */
const PREFETCH_FIRST = 8;
const PREFETCH_MOST = 64;

/** Each of `paths` with its chunks when it was read ahead in a batch (small files), else none. */
function* prefetched(fs: WorkspaceFs, paths: Iterable<string>): Generator<{ path: string; chunks?: Uint8Array[] }> {
  let size = PREFETCH_FIRST;
  let batch: string[] = [];
  const flush = function* () {
    const lists = fs.readSmallFiles(batch, PREFETCH_MAX_BYTES);
    for (const [index, path] of batch.entries()) yield { path, chunks: lists[index] };
    batch = [];
    size = Math.min(size * 2, PREFETCH_MOST);
  };
  for (const path of paths) {
    batch.push(path);
    if (batch.length >= size) yield* flush();
  }
  if (batch.length > 0) yield* flush();
}

/**
 * The matching lines of one file after line `skipLines`, with context, taking one chunk at a
 * time. Stops after `maxMatches`.
 */
function scanFile(
  path: string,
  chunks: Iterable<Uint8Array>,
  regex: RegExp,
  prefilter: RegExp | undefined,
  context: number,
  maxLineLength: number,
  skipLines: number,
  maxMatches: number,
): GrepLine[] | "binary" {
  const matches: GrepLine[] = [];
  const before: string[] = [];
  const open: GrepLine[] = [];
  let lineNumber = 0;
  const clip = (text: string) => (text.length > maxLineLength ? `${text.slice(0, maxLineLength)}…` : text);
  /** Takes the next line; false once nothing more is wanted from the file. */
  const onLine = (raw: string): boolean => {
    lineNumber++;
    const text = clip(raw);
    for (const match of open) match.after!.push(text);
    while (open.length && open[0]!.after!.length >= context) open.shift();
    if (matches.length < maxMatches && lineNumber > skipLines && regex.test(text)) {
      const match: GrepLine = { path, line: lineNumber, text };
      if (context > 0) {
        match.before = [...before];
        match.after = [];
        open.push(match);
      }
      matches.push(match);
    }
    if (context > 0) {
      before.push(text);
      if (before.length > context) before.shift();
    }
    // Past the last wanted match, read on only to fill trailing context.
    return matches.length < maxMatches || open.length > 0;
  };
  if (Array.isArray(chunks)) {
    // Read whole already (a small file): decoded once, and often ruled out with one regex run.
    if (chunks.length === 0) return matches;
    if (looksBinary(chunks[0]!)) return "binary";
    const text = decodeAll(chunks);
    if (prefilter && longestLine(text) <= maxLineLength && !prefilter.test(text)) return matches;
    for (const line of linesOf(text)) if (!onLine(line)) break;
    return matches;
  }
  const iterator = chunks[Symbol.iterator]();
  const first = iterator.next();
  if (first.done) return matches;
  if (looksBinary(first.value)) return "binary";
  const all = (function* () {
    yield first.value;
    yield* { [Symbol.iterator]: () => iterator };
  })();
  for (const line of textLines(all)) if (!onLine(line)) break;
  return matches;
}

/**
 * The regex over a whole file, in multiline mode: if no part of the text matches, no line does,
 * so the file needs no splitting. That holds when every line is kept whole (none is cut at
 * `maxLineLength`) and the regex has no lookaround (which could see past a line's end); `^`,
 * `$` and `\b` read the same at a line's ends in the text as in the line alone.
 */
function wholeTextFilter(regex: RegExp): RegExp | undefined {
  if (/\(\?<?[=!]/.test(regex.source)) return undefined;
  return new RegExp(regex.source, `${regex.flags}m`);
}

function decodeAll(chunks: Uint8Array[]): string {
  if (chunks.length === 1) return decoder.decode(chunks[0]);
  const streaming = new TextDecoder();
  let text = "";
  for (const chunk of chunks) text += streaming.decode(chunk, { stream: true });
  return text + streaming.decode();
}

/** The length of the longest line of `text`, counting a `\r` before its `\n`. */
function longestLine(text: string): number {
  let longest = 0;
  let start = 0;
  for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n", start)) {
    longest = Math.max(longest, end - start);
    start = end + 1;
  }
  return Math.max(longest, text.length - start);
}

/** The lines of a decoded text, as {@link textLines} gives them, one at a time. */
function* linesOf(text: string): Generator<string> {
  let start = 0;
  for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n", start)) {
    yield withoutCarriageReturn(text.slice(start, end));
    start = end + 1;
  }
  if (start < text.length) yield withoutCarriageReturn(text.slice(start));
}

const withoutCarriageReturn = (line: string) => (line.endsWith("\r") ? line.slice(0, -1) : line);
const decoder = new TextDecoder();

function compileRegex({ pattern, literal, ignoreCase }: GrepOptions): RegExp {
  if (typeof pattern !== "string" || pattern === "") throw new FsError("EINVAL", "(pattern)", "is empty; give text or a regular expression to search for");
  const source = literal ? pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") : pattern;
  try {
    return new RegExp(source, ignoreCase ? "i" : "");
  } catch (error) {
    throw new FsError("EINVAL", pattern, `is not a valid regular expression (${(error as Error).message}); pass literal to search for the text itself`);
  }
}

function compileGlob(glob: string, what: string, dot: boolean): (path: string) => boolean {
  if (typeof glob !== "string" || glob === "") throw new FsError("EINVAL", `(${what})`, "is empty; give a glob such as **/*.ts");
  try {
    return picomatch(glob, { dot });
  } catch (error) {
    throw new FsError("EINVAL", glob, `is not a valid glob (${(error as Error).message})`);
  }
}

/** A glob without `/` is matched against the last name, so `node_modules` or `*.ts` match at any depth. */
function compileScoped(glob: string, what: string, dot: boolean): (rel: string) => boolean {
  const isMatch = compileGlob(glob, what, dot);
  return glob.includes("/") ? isMatch : (rel) => isMatch(baseName(rel));
}

function compileExcludes(globs: string[] | undefined, dot: boolean): (rel: string) => boolean {
  const matchers = (globs ?? []).map((glob) => compileScoped(glob, "exclude", dot));
  return (rel) => matchers.some((isMatch) => isMatch(rel));
}

/**
 * What `find` and `grep` leave out below directory `root`, for other walks (a tree listing) to
 * show the same: true for an entry to leave out, and for a directory not to enter. Entries
 * matching `exclude` (as in {@link FindOptions.exclude}), and unless `gitignore` is false what
 * git ignores (see {@link createIgnoreFilter}). Make one per walk; ask about the entries of a
 * walk from `root`, in its order.
 */
export function createSkipFilter(
  fs: WorkspaceFs,
  root: string,
  options: { exclude?: string[]; dot?: boolean; gitignore?: boolean } = {},
): (entry: { path: string; type: FileType }) => boolean {
  return compileSkip(fs, normalizePath(root), compileExcludes(options.exclude, options.dot ?? true), options.gitignore);
}

function compileSkip(
  fs: WorkspaceFs,
  root: string,
  excluded: (rel: string) => boolean,
  gitignore: boolean | undefined,
): (entry: { path: string; type: FileType }) => boolean {
  if (gitignore === false) return (entry) => excluded(relative(root, entry.path));
  const ignored = createIgnoreFilter(fs);
  return (entry) => excluded(relative(root, entry.path)) || ignored(entry.path, entry.type);
}

/** How deep a glob can match: its number of names, or unlimited with `**`. */
function globDepth(glob: string): number | undefined {
  return glob.includes("**") ? undefined : glob.split("/").filter(Boolean).length;
}

const relative = (root: string, path: string) => (root === "/" ? path.slice(1) : path.slice(root.length + 1));

function pageLimit(limit: number | undefined, fallback: number): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1) throw new FsError("EINVAL", "(limit)", `cannot be ${limit}; give a whole number of 1 or more`);
  return limit;
}

/** Cursors read `<line>:<path>`: resume in `path` after `line`, or at `path` when line is 0. */
function parseCursor(cursor: string | undefined): { path: string; line: number } | undefined {
  if (cursor === undefined) return undefined;
  const match = /^(\d+):(\/.*)$/.exec(cursor);
  if (!match) throw new FsError("EINVAL", cursor, "is not a cursor this search returned");
  return { line: Number(match[1]), path: match[2]! };
}
