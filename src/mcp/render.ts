import type { WorkspaceFs } from "../workspace-do/engine.ts";
import { FsError } from "../workspace-do/errors.ts";
import { looksBinary, textLines } from "../workspace-do/lines.ts";
import { normalizePath } from "../workspace-do/paths.ts";
import type { GrepLine } from "../workspace-do/search.ts";
import { answer, formatBytes, imageMimeType, plural } from "./format.ts";
import type { ToolResult } from "./workspace.ts";

/**
 * How the read and search tools' results read: a file as numbered lines (or an image, or a
 * note on a binary file), grep's matches in ripgrep's layout, and the notes that say how to
 * continue a page.
 */

/** Caps of the read tool, as Claude Code's Read has them. */
export const READ_LIMITS = { lines: 2000, bytes: 256 * 1024, lineChars: 2000, imageBytes: 5 * 1024 * 1024 };

/**
 * A file as read shows it: from line `offset`, at most `maxLines` lines or {@link READ_LIMITS}.bytes,
 * numbered like `cat -n`, with a note on how to continue; an image as image content.
 */
export function readFile(fs: WorkspaceFs, file: string, offset: number, maxLines: number): ToolResult {
  const stats = fs.stat(file);
  const path = fs.realpath(file);
  if (stats.type === "directory") throw new FsError("EISDIR", normalizePath(file), "is a directory; use ls or tree to see what it holds");
  const head = fs.readFile(file, { byteLength: 8192 });
  const mimeType = imageMimeType(head);
  if (mimeType) {
    if (stats.size > READ_LIMITS.imageBytes) {
      return answer(`${file} is a ${mimeType} image of ${formatBytes(stats.size)}, over the ${formatBytes(READ_LIMITS.imageBytes)} the read tool returns.`, {
        path,
        kind: "image",
        size: stats.size,
      });
    }
    return { content: [{ type: "image", data: toBase64(fs.readFile(file)), mimeType }], structuredContent: { path, kind: "image", size: stats.size } };
  }
  if (looksBinary(head)) {
    return answer(
      `${file} is a binary file of ${formatBytes(stats.size)}; read shows text only. Fetch its bytes from the files route (/w/<workspace>/files${normalizePath(file)}).`,
      { path, kind: "binary", size: stats.size },
    );
  }
  if (stats.size === 0) return answer(`${file} is empty.`, { path, kind: "empty", size: 0 });
  const out: string[] = [];
  let bytes = 0;
  let line = 0;
  let more = false;
  for (const raw of textLines(fs.chunksOf(file))) {
    line++;
    if (line < offset) continue;
    if (out.length >= maxLines || bytes >= READ_LIMITS.bytes) {
      more = true;
      break;
    }
    const shown = raw.length > READ_LIMITS.lineChars ? `${raw.slice(0, READ_LIMITS.lineChars)}… [line cut at ${READ_LIMITS.lineChars} characters]` : raw;
    const numbered = `${String(line).padStart(6)}\t${shown}`;
    out.push(numbered);
    bytes += numbered.length + 1;
  }
  if (out.length === 0) throw new FsError("EINVAL", normalizePath(file), `has only ${plural(line, "line")}; offset ${offset} is past the end`);
  const next = offset + out.length;
  return answer(out.join("\n") + (more ? `\n… more lines follow; call read with offset=${next} to continue.` : ""), {
    path,
    kind: "text",
    size: stats.size,
    firstLine: offset,
    lastLine: next - 1,
    ...(more ? { nextOffset: next } : {}),
  });
}

/** ripgrep's layout: `path:line:text` for matches, `path-line-text` for context, `--` between groups. */
export function formatGrepLines(lines: GrepLine[], withContext: boolean): string[] {
  if (!withContext) return lines.map((match) => `${match.path}:${match.line}:${match.text}`);
  const out: string[] = [];
  let path: string | undefined;
  const rows = new Map<number, { text: string; isMatch: boolean }>();
  const flush = () => {
    let previous: number | undefined;
    for (const number of [...rows.keys()].sort((a, b) => a - b)) {
      if (out.length && (previous === undefined || number > previous + 1)) out.push("--");
      const { text, isMatch } = rows.get(number)!;
      out.push(isMatch ? `${path}:${number}:${text}` : `${path}-${number}-${text}`);
      previous = number;
    }
    rows.clear();
  };
  for (const match of lines) {
    if (match.path !== path) {
      flush();
      path = match.path;
    }
    const first = match.line - (match.before?.length ?? 0);
    match.before?.forEach((line, i) => {
      if (!rows.has(first + i)) rows.set(first + i, { text: line, isMatch: false });
    });
    rows.set(match.line, { text: match.text, isMatch: true });
    match.after?.forEach((line, i) => {
      if (!rows.has(match.line + 1 + i)) rows.set(match.line + 1 + i, { text: line, isMatch: false });
    });
  }
  flush();
  return out;
}

/** A page of lines, or `none` when it is empty. */
export const listOrNone = (lines: string[], none = "No matches.") => (lines.length ? lines.join("\n") : none);

/** The note that ends a page with more to come: how to call `name` for the next one. */
export const continuation = (name: string, next: string | undefined) =>
  next ? `\n… more results; call ${name} again with cursor=${JSON.stringify(next)}` : "";

/** Bytes as base64, in slices (a spread of a whole large file would overflow the call stack). */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
