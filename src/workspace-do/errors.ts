/** The errno codes the engine raises, each with the errno number FUSE answers with. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EACCES: 13,
  EEXIST: 17,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  ENAMETOOLONG: 36,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ESTALE: 116,
} as const;

export type ErrnoCode = keyof typeof ERRNO;

/**
 * An error a human and a model can act on: an errno-shaped `code`, the workspace `path` it is
 * about, and one plain sentence. `message` reads `ENOENT: /src/app.ts does not exist`.
 */
export class FsError extends Error {
  override name = "FsError";
  readonly code: ErrnoCode;
  readonly path: string;
  readonly errno: number;

  constructor(code: ErrnoCode, path: string, sentence: string) {
    super(`${code}: ${path} ${sentence}`);
    this.code = code;
    this.path = path;
    this.errno = ERRNO[code];
  }
}

export const isFsError = (error: unknown, code?: ErrnoCode): error is FsError => error instanceof FsError && (code === undefined || error.code === code);

/** What a thrown value says, for a log line or a one-line message: an Error's message, else the value as text. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** An FsError again from its message (`ENOENT: /a does not exist`), as it arrives through RPC; undefined for another message. */
export function fsErrorFrom(message: string): FsError | undefined {
  const match = /^([A-Z]+): (\S+) ([\s\S]*)$/.exec(message);
  return match && match[1]! in ERRNO ? new FsError(match[1] as ErrnoCode, match[2]!, match[3]!) : undefined;
}
