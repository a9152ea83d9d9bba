import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { resolve } from "node:path";
import { nodeError } from "./node-errors.ts";
import type { WorkspaceFileHandle, WorkspaceProvider } from "./vfs-provider.ts";

/**
 * The `node:fs` calls that change files (and readlink and lstat, which the shim gets wrong), routed
 * to the provider for paths under the mount point.
 * `@platformatic/vfs` 0.4 routes only the reading side of `node:fs` (readFile, stat, readdir,
 * exists, realpath, readlink, access, watch) and module loading; `node:vfs` routes every call.
 * This fills the gap on Node 22 so a program's `fs.writeFile`, `fs.mkdir`, `fs.rename`, file
 * descriptors… reach the workspace: each call in its three forms (sync, callback, promise)
 * from one table, all other paths and descriptors left to Node. Answers how to undo it.
 */
export function routeFsWrites(provider: WorkspaceProvider, mountPoint: string): () => void {
  const inside = (path: unknown): string | undefined => {
    if (typeof path !== "string" && !(path instanceof URL)) return undefined;
    const absolute = resolve(path instanceof URL ? path.pathname : path);
    if (absolute === mountPoint) return "/";
    return absolute.startsWith(`${mountPoint}/`) ? absolute.slice(mountPoint.length) : undefined;
  };
  const handles = new Map<number, WorkspaceFileHandle>();
  const handle = (fd: unknown): WorkspaceFileHandle | undefined => (typeof fd === "number" ? handles.get(fd) : undefined);

  /** Path calls: which arguments are paths, and the call on provider paths. Two paths must both be inside (else EXDEV). */
  const byPath: Record<string, { paths: number[]; run: (args: unknown[], paths: string[]) => unknown }> = {
    writeFile: { paths: [0], run: ([, data, options], [path]) => provider.writeFileSync(path!, data as string, writeOptions(options)) },
    appendFile: { paths: [0], run: ([, data, options], [path]) => provider.appendFileSync(path!, data as string, writeOptions(options)) },
    mkdir: {
      paths: [0],
      run: ([, options], [path]) => {
        const made = provider.mkdirSync(path!, typeof options === "number" ? { mode: options } : (options as { recursive?: boolean }));
        return made === undefined ? undefined : shown(made);
      },
    },
    rmdir: { paths: [0], run: (_, [path]) => provider.rmdirSync(path!) },
    rm: { paths: [0], run: ([, options], [path]) => provider.rmSync(path!, options as { recursive?: boolean; force?: boolean }) },
    unlink: { paths: [0], run: (_, [path]) => provider.unlinkSync(path!) },
    rename: { paths: [0, 1], run: (_, [from, to]) => provider.renameSync(from!, to!) },
    copyFile: { paths: [0, 1], run: ([, , mode], [from, to]) => provider.copyFileSync(from!, to!, mode as number | undefined) },
    symlink: { paths: [1], run: ([target], [path]) => provider.symlinkSync(String(target), path!) },
    // The shim answers readlink with the link's resolved path and lstat with the target's stats.
    readlink: { paths: [0], run: (_, [path]) => provider.readlinkSync(path!) },
    lstat: { paths: [0], run: (_, [path]) => provider.lstatSync(path!) },
    truncate: { paths: [0], run: ([, length], [path]) => provider.truncateSync(path!, (length as number | undefined) ?? 0) },
    chmod: { paths: [0], run: ([, mode], [path]) => provider.chmodSync(path!, modeOf(mode)) },
    chown: { paths: [0], run: ([, uid, gid], [path]) => provider.chownSync(path!, uid as number, gid as number) },
    lchown: { paths: [0], run: ([, uid, gid], [path]) => provider.chownSync(path!, uid as number, gid as number, false) },
    utimes: { paths: [0], run: ([, atime, mtime], [path]) => provider.utimesSync(path!, timeOf(atime), timeOf(mtime)) },
    lutimes: { paths: [0], run: ([, atime, mtime], [path]) => provider.utimesSync(path!, timeOf(atime), timeOf(mtime), false) },
    open: {
      paths: [0],
      run: ([, flags, mode], [path]) => {
        const opened = provider.openSync(path!, (flags as string | number | undefined) ?? "r", mode as number | undefined);
        const fd = nextFd++;
        handles.set(fd, opened);
        return fd;
      },
    },
  };
  /** Descriptor calls on descriptors this route opened. */
  const byFd: Record<string, (file: WorkspaceFileHandle, args: unknown[]) => unknown> = {
    close: (file, [fd]) => {
      handles.delete(fd as number);
      file.closeSync();
    },
    read: (file, [, buffer, offset, length, position]) => {
      if (offset !== null && typeof offset === "object") {
        const options = offset as { offset?: number; length?: number; position?: number | null };
        return file.readSync(buffer as Uint8Array, options.offset, options.length, options.position);
      }
      return file.readSync(buffer as Uint8Array, offset as number | undefined, length as number | undefined, position as number | null | undefined);
    },
    write: (file, [, data, offset, length, position]) => {
      if (typeof data === "string") {
        // fs.write(fd, string, position, encoding)
        const bytes = Buffer.from(data, (length as BufferEncoding | undefined) ?? "utf8");
        return file.writeSync(bytes, 0, bytes.byteLength, offset as number | null | undefined);
      }
      return file.writeSync(data as Uint8Array, offset as number | undefined, length as number | undefined, position as number | null | undefined);
    },
    fstat: (file) => file.statSync(),
    ftruncate: (file, [, length]) => file.truncateSync((length as number | undefined) ?? 0),
    fsync: (file) => file.syncSync(),
    fdatasync: (file) => file.syncSync(),
  };
  const shown = (path: string) => (path === "/" ? mountPoint : mountPoint + path);
  let nextFd = 2 ** 30;

  const originals = new Map<string, unknown>();
  const promises = fs.promises as unknown as Record<string, (...args: unknown[]) => unknown>;
  const callbacks = fs as unknown as Record<string, (...args: unknown[]) => unknown>;
  const replace = (target: Record<string, unknown>, name: string, make: (original: (...args: unknown[]) => unknown) => unknown) => {
    const key = `${target === promises ? "promises." : ""}${name}`;
    const original = target[name] as (...args: unknown[]) => unknown;
    originals.set(key, original);
    target[name] = make(original);
  };

  /** The paths of `args` if the call is for the workspace: all inside, none, or EXDEV for a mix. */
  const pathsOf = (name: string, args: unknown[]): string[] | undefined => {
    const wanted = byPath[name]!.paths.map((i) => inside(args[i]));
    if (wanted.every((path) => path === undefined)) return undefined;
    if (wanted.some((path) => path === undefined)) throw nodeError("EXDEV", name, String(args[byPath[name]!.paths[0]!]));
    return wanted as string[];
  };
  /** The callback form: the same synchronous engine call, answered on the next tick. */
  const answerLater = (callback: unknown, run: () => unknown) => {
    let result: unknown;
    try {
      result = run();
    } catch (error) {
      process.nextTick(callback as (error: unknown) => void, error);
      return;
    }
    process.nextTick(callback as (error: null, result: unknown) => void, null, result);
  };

  for (const name of Object.keys(byPath)) {
    replace(
      callbacks,
      `${name}Sync`,
      (original) =>
        function routed(this: unknown, ...args: unknown[]) {
          const paths = pathsOf(name, args);
          return paths ? byPath[name]!.run(args, paths) : original.apply(this, args);
        },
    );
    replace(
      callbacks,
      name,
      (original) =>
        function routed(this: unknown, ...args: unknown[]) {
          let paths: string[] | undefined;
          try {
            paths = pathsOf(name, args);
          } catch (error) {
            return process.nextTick(args.at(-1) as (error: unknown) => void, error);
          }
          if (!paths) return original.apply(this, args);
          const callback = args.pop();
          answerLater(callback, () => byPath[name]!.run(args, paths));
        },
    );
    // fs.promises.open answers a FileHandle: made below.
    if (name !== "open" && typeof promises[name] === "function") {
      replace(
        promises,
        name,
        (original) =>
          async function routed(this: unknown, ...args: unknown[]) {
            const paths = pathsOf(name, args);
            return paths ? byPath[name]!.run(args, paths) : original.apply(this, args);
          },
      );
    }
  }
  replace(
    promises,
    "open",
    (original) =>
      async function routed(this: unknown, ...args: unknown[]) {
        const paths = pathsOf("open", args);
        if (!paths) return original.apply(this, args);
        const fd = byPath.open!.run(args, paths) as number;
        return fileHandle(fd, handles.get(fd)!, () => handles.delete(fd));
      },
  );
  for (const [name, run] of Object.entries(byFd)) {
    replace(
      callbacks,
      `${name}Sync`,
      (original) =>
        function routed(this: unknown, ...args: unknown[]) {
          const file = handle(args[0]);
          return file ? run(file, args) : original.apply(this, args);
        },
    );
    replace(
      callbacks,
      name,
      (original) =>
        function routed(this: unknown, ...args: unknown[]) {
          const file = handle(args[0]);
          if (!file) return original.apply(this, args);
          const callback = args.pop();
          if (name === "fsync" || name === "fdatasync") {
            // The callback form waits, as fsync on the mount does, until the workspace holds the file.
            file.sync().then(() => (callback as (error: null) => void)(null), callback as (error: unknown) => void);
            return;
          }
          // fs.read and fs.write answer (error, bytes, buffer).
          answerLater(
            (error: unknown, result: unknown) => (callback as (...values: unknown[]) => void)(error, result, args[1]),
            () => run(file, args),
          );
        },
    );
  }
  // ESM programs import named exports of node:fs: they follow the module object only when told.
  syncBuiltinESMExports();
  return () => {
    for (const [key, original] of originals) {
      if (key.startsWith("promises.")) promises[key.slice("promises.".length)] = original as (...args: unknown[]) => unknown;
      else callbacks[key] = original as (...args: unknown[]) => unknown;
    }
    for (const file of handles.values()) if (!file.closed) file.closeSync();
    handles.clear();
    syncBuiltinESMExports();
  };
}

const writeOptions = (options: unknown): { encoding?: BufferEncoding; mode?: number } | undefined =>
  typeof options === "string" ? { encoding: options as BufferEncoding } : (options as { encoding?: BufferEncoding; mode?: number } | undefined);

/** A mode as `node:fs` takes it: a number, or an octal string ("755"). */
const modeOf = (mode: unknown): number => (typeof mode === "string" ? Number.parseInt(mode, 8) : Number(mode));

/** A time as `node:fs` takes it: a Date, or seconds since the epoch (a number or a numeric string). */
const timeOf = (time: unknown): Date => (time instanceof Date ? time : new Date(Number(time) * 1000));

/**
 * What `fs.promises.open` answers for a workspace file: a FileHandle's methods over the
 * provider's handle, with the descriptor number the routed `fs` calls know it by.
 */
function fileHandle(fd: number, file: WorkspaceFileHandle, forget: () => void) {
  const close = async () => {
    forget();
    if (!file.closed) await file.close();
  };
  return {
    fd,
    read: (buffer: Uint8Array, offset?: number, length?: number, position?: number | null) => file.read(buffer, offset, length, position),
    write: (buffer: Uint8Array, offset?: number, length?: number, position?: number | null) => file.write(buffer, offset, length, position),
    readFile: (options?: BufferEncoding | { encoding?: BufferEncoding | null } | null) => file.readFile(options),
    writeFile: (data: string | Uint8Array, options?: BufferEncoding | { encoding?: BufferEncoding | null } | null) => file.writeFile(data, options),
    stat: () => file.stat(),
    truncate: (length?: number) => file.truncate(length),
    sync: () => file.sync(),
    datasync: () => file.datasync(),
    close,
    [Symbol.asyncDispose]: close,
  };
}
