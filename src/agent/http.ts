import { type ErrnoCode, isFsError } from "../workspace-do/errors.ts";

const STATUS: Partial<Record<ErrnoCode, number>> = {
  ENOENT: 404,
  EEXIST: 409,
  ENOTEMPTY: 409,
  EPERM: 403,
  EACCES: 403,
  EFBIG: 413,
  ENOSPC: 507,
  ESTALE: 409,
};

/** A JSON error body `{ error, message }`: the errno code and one sentence. */
export const errorResponse = (status: number, error: string, message: string): Response => Response.json({ error, message }, { status });

/**
 * The response for anything a handler threw: an FsError keeps its code and sentence; anything
 * else is logged here and reported as a bare EIO, so no stack or SQL reaches the client.
 */
export function responseForError(error: unknown, where: string): Response {
  if (isFsError(error)) return errorResponse(STATUS[error.code] ?? 400, error.code, error.message);
  console.error(`${where}:`, error);
  return errorResponse(500, "EIO", "The server failed to handle this request; its log has the details.");
}
