import type { WorkspaceFs } from "../workspace-do/engine.ts";
import { isFsError } from "../workspace-do/errors.ts";
import { baseName, joinPath, normalizePath, parentOf } from "../workspace-do/paths.ts";
import type { ToolResult } from "./workspace.ts";

/** How tool results read: text for a model, one place for every format. */

export const text = (body: string): ToolResult => ({ content: [{ type: "text", text: body }] });

/** Text for a model and the same facts as structured content (the tool's `outputSchema`). */
export const answer = (body: string, structuredContent: Record<string, unknown>): ToolResult => ({
  content: [{ type: "text", text: body }],
  structuredContent,
});

export const failure = (message: string): ToolResult => ({ content: [{ type: "text", text: message }], isError: true });

/**
 * A thrown error as a tool result: an FsError keeps its sentence (plus a "did you mean" for
 * a missing path); anything else is logged and reported without internals.
 */
export function errorResult(fs: WorkspaceFs, error: unknown, tool: string): ToolResult {
  if (!isFsError(error)) {
    console.error(`tool ${tool} failed:`, error);
    return failure(`EIO: ${tool} failed inside the server; nothing was changed. Try again, or report it if it persists.`);
  }
  const hint = error.code === "ENOENT" ? didYouMean(fs, error.path) : undefined;
  return failure(hint ? `${error.message} (did you mean ${hint}?)` : error.message);
}

/** The closest existing name to a missing path's first missing name, if one is close. */
export function didYouMean(fs: WorkspaceFs, missing: string): string | undefined {
  let path: string;
  try {
    path = normalizePath(missing);
  } catch {
    return undefined;
  }
  let dir = parentOf(path);
  let wanted = baseName(path);
  while (dir !== "/" && !fs.exists(dir)) {
    wanted = baseName(dir);
    dir = parentOf(dir);
  }
  let entries: string[];
  try {
    entries = fs.readdir(dir).map((entry) => entry.name);
  } catch {
    return undefined;
  }
  let best: { name: string; distance: number } | undefined;
  for (const name of entries) {
    // The asked name itself can exist (a symlink whose target is missing): never suggest it.
    if (name === wanted) continue;
    const distance = editDistance(name.toLowerCase(), wanted.toLowerCase());
    if (distance <= Math.max(2, Math.floor(wanted.length / 3)) && (!best || distance < best.distance)) best = { name, distance };
  }
  return best && joinPath(dir, best.name);
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8) return Infinity;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A device number as `ls -l` prints it, `major, minor` (the kernel's 32-bit encoding, which FUSE carries). */
export const formatDevice = (rdev: number): string => `${(rdev & 0xfff00) >>> 8}, ${(rdev & 0xff) | ((rdev >>> 12) & 0xfff00)}`;

export const formatTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

const KIND_LETTERS: Record<string, string> = { directory: "d", symlink: "l", fifo: "p", socket: "s", "character-device": "c", "block-device": "b" };

/** The mode as `ls -l` prints it: `-rw-r--r--`, `drwxr-xr-x`, `lrwxrwxrwx`, `prw-r--r--`. */
export function formatMode(type: string, mode: number): string {
  const kind = KIND_LETTERS[type] ?? "-";
  const bits = "rwxrwxrwx";
  return kind + [...bits].map((bit, i) => (mode & (1 << (8 - i)) ? bit : "-")).join("");
}

/** Image types the read tool returns as MCP image content, by their first bytes. */
export function imageMimeType(bytes: Uint8Array): string | undefined {
  const starts = (...prefix: number[]) => prefix.every((byte, i) => bytes[i] === byte);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (starts(0xff, 0xd8, 0xff)) return "image/jpeg";
  if (starts(0x47, 0x49, 0x46, 0x38)) return "image/gif";
  if (starts(0x52, 0x49, 0x46, 0x46) && String.fromCharCode(...bytes.subarray(8, 12)) === "WEBP") return "image/webp";
  return undefined;
}

export const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? "" : "s"}`;
