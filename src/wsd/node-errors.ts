import { getSystemErrorMessage } from "node:util";
import { ERRNO, isFsError } from "../workspace-do/errors.ts";

/** errno numbers Node's own fs errors carry that the engine never raises (the VFS raises them itself). */
const MORE_ERRNO = { EBADF: 9, EXDEV: 18 } as const;

export type NodeErrnoCode = keyof typeof ERRNO | keyof typeof MORE_ERRNO;

/**
 * An error as `node:fs` throws it: `code`, negative `errno`, `syscall` and `path`, and the
 * message in Node's own words (`ENOENT: no such file or directory, open '/w/a.txt'`), so code
 * that checks `error.code === "ENOENT"` works unchanged on the workspace.
 */
export function nodeError(code: NodeErrnoCode, syscall: string, path?: string): NodeJS.ErrnoException {
  const errno = -(code in ERRNO ? ERRNO[code as keyof typeof ERRNO] : MORE_ERRNO[code as keyof typeof MORE_ERRNO]);
  const error: NodeJS.ErrnoException = new Error(`${code}: ${getSystemErrorMessage(errno).toLowerCase()}, ${syscall}${path === undefined ? "" : ` '${path}'`}`);
  Object.assign(error, { errno, code, syscall, ...(path === undefined ? {} : { path }) });
  return error;
}

/** Runs `operation`, answering an engine error as Node's (`path` is what the caller named); anything else as is. */
export function asNodeError<T>(syscall: string, path: string, operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    if (isFsError(error)) throw nodeError(error.code, syscall, path);
    throw error;
  }
}
