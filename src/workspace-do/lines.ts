/**
 * The lines of UTF-8 text arriving in chunks, decoded as they come so a large file never sits
 * whole in memory. A line's `\n` is dropped (and a `\r` before it); a last line without a
 * newline is yielded too; an empty text has no lines.
 */
export function* textLines(chunks: Iterable<Uint8Array>): Generator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for (const chunk of chunks) {
    const parts = (pending + decoder.decode(chunk, { stream: true })).split("\n");
    pending = parts.pop()!;
    for (const part of parts) yield part.endsWith("\r") ? part.slice(0, -1) : part;
  }
  pending += decoder.decode();
  if (pending !== "") yield pending.endsWith("\r") ? pending.slice(0, -1) : pending;
}

/** Looks binary the way git and ripgrep judge it: a NUL byte in the first 8,000 bytes. */
export const looksBinary = (bytes: Uint8Array): boolean => bytes.subarray(0, 8000).includes(0);
