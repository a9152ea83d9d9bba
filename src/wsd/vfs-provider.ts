import { Buffer } from "node:buffer";
import { constants } from "node:fs";
import { posix } from "node:path";
import { type VFSWatchAsyncIterable, VirtualProvider } from "@platformatic/vfs";
import type { FileType, Stats, WorkspaceFs } from "../workspace-do/engine.ts";
import { asNodeError, nodeError } from "./node-errors.ts";
import { type OpenFile, OpenFiles } from "./open-files.ts";
import type { ReplicaView } from "./replica-sync.ts";
import { ChangeWatcher, type WatchHub } from "./vfs-watch.ts";

/** What the provider needs from its host besides the replica (the sync's side of the write model). */
export interface WorkspaceProviderOptions {
  /** Where the VFS is mounted: errors name paths as the program does (`/wsd/docs/a.txt`). */
  mountPoint: string;
  /** A handle open for writing was closed: its file is complete for now (push it). */
  onReleased: () => void;
  /** After an fsync landed the file in the replica: resolves once the workspace holds it. */
  onFsync: (path: string) => Promise<void>;
  /** True for a rename across the local-only boundary: it fails with EXDEV. */
  crossesDevice: (from: string, to: string, type: FileType) => boolean;
  /** The changes `watch` reports. */
  watches: WatchHub;
}

/**
 * The workspace's replica as a provider for Node's virtual file system. It is written against
 * the primitives `node:vfs` (Node ≥ 26.4) and its userland shim `@platformatic/vfs` share (the
 * `VirtualProvider` base class: `openSync`/`statSync`/`readdirSync`/`mkdirSync`/… and their
 * promise forms, and file handles with `readSync`/`writeSync`/`statSync`/`truncateSync`/`closeSync`),
 * and extends the shim's base class, the one Node 22 can load.
 *
 * Every call is one engine call on the replica; files opened for writing follow the mount's
 * write model ({@link OpenFiles}: writes buffered per handle, landed as one transaction on close,
 * fsync, or when anything looks at the file), so sync pushes a file whole, once it is closed.
 * Errors are `node:fs`'s (`code`, `errno`, `syscall`, `path`).
 */
export class WorkspaceProvider extends VirtualProvider implements ReplicaView {
  readonly #fs: WorkspaceFs;
  readonly #files: OpenFiles;
  readonly #options: WorkspaceProviderOptions;
  /** When the program last called into the workspace (ms): housekeeping waits for a pause. */
  #lastRequestAt = 0;

  constructor(fs: WorkspaceFs, options: WorkspaceProviderOptions) {
    super();
    this.#fs = fs;
    this.#files = new OpenFiles(fs);
    this.#options = options;
  }

  override get supportsSymlinks(): boolean {
    return true;
  }

  override get supportsWatch(): boolean {
    return true;
  }

  // The replica's view, for sync (ReplicaView).
  writerActiveAt(path: string): number | undefined {
    return this.#files.writerActiveAt(path);
  }

  openPaths(): string[] {
    return this.#files.paths();
  }

  settle(): void {
    this.#files.settle();
  }

  lastRequestAt(): number {
    return this.#lastRequestAt;
  }

  /** The path as the program names it, for errors. */
  #shown(path: string): string {
    return path === "/" ? this.#options.mountPoint : posix.join(this.#options.mountPoint, path);
  }

  #call<T>(syscall: string, path: string, operation: () => T): T {
    this.#lastRequestAt = Date.now();
    return asNodeError(syscall, this.#shown(path), operation);
  }

  override openSync(path: string, flags: string | number = "r", mode?: number): WorkspaceFileHandle {
    const open = parseFlags(flags);
    return this.#call("open", path, () => {
      const exists = this.#fs.exists(path);
      if (exists && open.exclusive) throw nodeError("EEXIST", "open", this.#shown(path));
      if (exists && this.#fs.stat(path).type === "directory") throw nodeError("EISDIR", "open", this.#shown(path));
      // The handle exists before the file does: the push the create commits must see a writer.
      const fd = this.#files.open(path, open.write);
      try {
        if (!exists) {
          if (!open.create) this.#fs.stat(path);
          this.#fs.writeFile(path, "", { mode: masked(mode), exclusive: true });
        } else if (open.truncate) {
          this.#files.settle(path);
          this.#fs.truncate(path, 0);
        }
      } catch (error) {
        this.#files.discard(fd);
        throw error;
      }
      return new WorkspaceFileHandle(this, fd, path, open);
    });
  }

  override async open(path: string, flags?: string | number, mode?: number): Promise<WorkspaceFileHandle> {
    return this.openSync(path, flags, mode);
  }

  override statSync(path: string): WorkspaceStats {
    return this.#call("stat", path, () => {
      this.#files.settle(path);
      return new WorkspaceStats(this.#fs.stat(path));
    });
  }

  override async stat(path: string): Promise<WorkspaceStats> {
    return this.statSync(path);
  }

  override lstatSync(path: string): WorkspaceStats {
    return this.#call("lstat", path, () => {
      this.#files.settle(path);
      return new WorkspaceStats(this.#fs.lstat(path));
    });
  }

  override async lstat(path: string): Promise<WorkspaceStats> {
    return this.lstatSync(path);
  }

  override readdirSync(path: string, options?: { withFileTypes?: boolean }): string[] | WorkspaceDirent[] {
    const entries = this.#call("scandir", path, () => this.#fs.readdir(path));
    if (!options?.withFileTypes) return entries.map((entry) => entry.name);
    return entries.map((entry) => new WorkspaceDirent(entry.name, entry.type, this.#shown(path)));
  }

  override async readdir(path: string, options?: { withFileTypes?: boolean }): Promise<string[] | WorkspaceDirent[]> {
    return this.readdirSync(path, options);
  }

  override mkdirSync(path: string, options?: { recursive?: boolean; mode?: number }): string | undefined {
    return this.#call("mkdir", path, () => this.#fs.mkdir(path, { recursive: options?.recursive, mode: masked(options?.mode) }));
  }

  override async mkdir(path: string, options?: { recursive?: boolean; mode?: number }): Promise<string | undefined> {
    return this.mkdirSync(path, options);
  }

  override rmdirSync(path: string): void {
    this.#call("rmdir", path, () => this.#fs.rmdir(path));
  }

  override async rmdir(path: string): Promise<void> {
    this.rmdirSync(path);
  }

  override unlinkSync(path: string): void {
    this.#call("unlink", path, () => {
      this.#files.settle(path);
      this.#fs.unlink(path);
    });
  }

  override async unlink(path: string): Promise<void> {
    this.unlinkSync(path);
  }

  /** `rm` (`recursive`, `force`), one engine transaction: not a shim primitive, used by the fs routes. */
  rmSync(path: string, options?: { recursive?: boolean; force?: boolean }): void {
    this.#call("rm", path, () => {
      this.#files.settle();
      this.#fs.rm(path, options);
    });
  }

  override renameSync(from: string, to: string): void {
    this.#call("rename", from, () => {
      if (this.#options.crossesDevice(from, to, this.#fs.lstat(from).type)) throw nodeError("EXDEV", "rename", this.#shown(from));
      this.#files.settle();
      this.#fs.rename(from, to);
      this.#files.renamed(from, to);
    });
  }

  override async rename(from: string, to: string): Promise<void> {
    this.renameSync(from, to);
  }

  /** One engine copy (the content's chunks are shared, not read and written again). */
  override copyFileSync(from: string, to: string, mode = 0): void {
    this.#call("copyfile", from, () => {
      this.#files.settle(from);
      this.#fs.copy(from, to, { exclusive: (mode & constants.COPYFILE_EXCL) !== 0 });
    });
  }

  override async copyFile(from: string, to: string, mode?: number): Promise<void> {
    this.copyFileSync(from, to, mode);
  }

  override readlinkSync(path: string): string {
    return this.#call("readlink", path, () => this.#fs.readlink(path));
  }

  override async readlink(path: string): Promise<string> {
    return this.readlinkSync(path);
  }

  override symlinkSync(target: string, path: string): void {
    this.#call("symlink", path, () => this.#fs.symlink(target, path));
  }

  override async symlink(target: string, path: string): Promise<void> {
    this.symlinkSync(target, path);
  }

  override realpathSync(path: string): string {
    return this.#call("realpath", path, () => this.#fs.realpath(path));
  }

  override async realpath(path: string): Promise<string> {
    return this.realpathSync(path);
  }

  /** Truncates the file at `path` (not a shim primitive: used by the fs routes). */
  truncateSync(path: string, length = 0): void {
    this.#call("open", path, () => {
      this.#files.settle(path);
      this.#fs.truncate(path, length);
    });
  }

  /** Permission bits, owner and times (not shim primitives: used by the fs routes); `follow` false acts on a symlink itself. */
  chmodSync(path: string, mode: number): void {
    this.#call("chmod", path, () => {
      this.#files.settle(path);
      this.#fs.chmod(path, mode & 0o7777);
    });
  }

  chownSync(path: string, uid: number, gid: number, follow = true): void {
    this.#call(follow ? "chown" : "lchown", path, () => (follow ? this.#fs.chown(path, uid, gid) : this.#fs.lchown(path, uid, gid)));
  }

  utimesSync(path: string, atime: Date, mtime: Date, follow = true): void {
    this.#call(follow ? "utime" : "lutime", path, () => {
      this.#files.settle(path);
      if (follow) this.#fs.utimes(path, atime, mtime);
      else this.#fs.lutimes(path, atime, mtime);
    });
  }

  override watch(path: string, options?: { recursive?: boolean }): ChangeWatcher {
    this.statSync(path);
    const directory = this.#fs.stat(path).type === "directory";
    return new ChangeWatcher(this.#options.watches, path, directory, options?.recursive ?? false);
  }

  override watchAsync(path: string, options?: { recursive?: boolean }): VFSWatchAsyncIterable {
    // The shim types its own iterable class; an async generator has its shape (and takes an
    // optional argument in return()).
    return this.watch(path, options).events() as unknown as VFSWatchAsyncIterable;
  }

  // The handles' side: one engine call each, through the open-files table.
  readInto(fd: number, path: string, target: Uint8Array, position: number): number {
    return this.#call("read", path, () => {
      this.#files.settle(this.#file(fd).path);
      return this.#fs.readInto(this.#file(fd).path, target, position);
    });
  }

  writeAt(fd: number, path: string, bytes: Uint8Array, position: number | "end"): number {
    return this.#call("write", path, () => {
      const file = this.#file(fd);
      // An append lands at the end: the end of this handle's own run, or the file's size.
      const at = position === "end" ? (file.pending ? file.pending.position + file.pending.length : this.#landedSize(file)) : position;
      if (at + bytes.byteLength > this.#fs.maxFileSize) throw nodeError("EFBIG", "write", this.#shown(path));
      // The caller may reuse its buffer: the write buffer copies the bytes.
      this.#files.write(file, at, bytes);
      return at + bytes.byteLength;
    });
  }

  fstat(fd: number, path: string): WorkspaceStats {
    return this.#call("fstat", path, () => {
      this.#files.settle(this.#file(fd).path);
      return new WorkspaceStats(this.#fs.stat(this.#file(fd).path));
    });
  }

  ftruncate(fd: number, path: string, length: number): void {
    this.#call("ftruncate", path, () => {
      const file = this.#file(fd);
      file.activeAt = Date.now();
      this.#files.settle(file.path);
      this.#fs.truncate(file.path, length);
    });
  }

  /** Lands the handle's writes in the replica (a durable commit there); answers the file's path. */
  fsyncLocal(fd: number): string {
    const file = this.#file(fd);
    this.#files.commit(file);
    file.activeAt = 0;
    return file.path;
  }

  /** fsync: landed in the replica, then resolves once the workspace holds it. */
  fsync(fd: number): Promise<void> {
    return this.#options.onFsync(this.fsyncLocal(fd));
  }

  close(fd: number, path: string): void {
    const file = this.#call("close", path, () => this.#files.close(fd));
    if (file?.writing) this.#options.onReleased();
  }

  #landedSize(file: OpenFile): number {
    this.#files.settle(file.path);
    return this.#fs.stat(file.path).size;
  }

  #file(fd: number): OpenFile {
    const file = this.#files.get(fd);
    if (!file) throw nodeError("EBADF", "read");
    return file;
  }
}

/** The process's umask, applied to the modes a program asks for as the kernel would. */
const UMASK = process.umask();

/** A mode a program gave, less the umask; undefined (the engine's default: 0o644, 0o755) when it gave none. */
const masked = (mode: number | undefined): number | undefined => (mode === undefined ? undefined : mode & 0o7777 & ~UMASK);

/** How a file is opened, from `node:fs` flags (`"r+"`, `"wx"`, `O_WRONLY | O_CREAT`…). */
export interface OpenMode {
  read: boolean;
  write: boolean;
  create: boolean;
  truncate: boolean;
  append: boolean;
  exclusive: boolean;
}

export function parseFlags(flags: string | number): OpenMode {
  if (typeof flags === "number") {
    const access = flags & 3;
    return {
      read: access !== constants.O_WRONLY,
      write: access !== constants.O_RDONLY,
      create: (flags & constants.O_CREAT) !== 0,
      truncate: (flags & constants.O_TRUNC) !== 0,
      append: (flags & constants.O_APPEND) !== 0,
      exclusive: (flags & constants.O_EXCL) !== 0,
    };
  }
  const kind = flags[0];
  const plus = flags.includes("+");
  if (!/^[rwa](s|x)?\+?$|^[rwa]\+?(s|x)$/.test(flags)) throw nodeError("EINVAL", "open", `flags ${flags}`);
  return {
    read: kind === "r" || plus,
    write: kind !== "r" || plus,
    create: kind !== "r",
    truncate: kind === "w",
    append: kind === "a",
    exclusive: flags.includes("x"),
  };
}

/**
 * A file handle of the provider (the interface both VFS implementations call: `readSync`,
 * `writeSync`, `readFileSync`, `writeFileSync`, `statSync`, `truncateSync`, `closeSync`, and
 * their promise forms). It keeps the file position; the bytes go through the provider.
 */
export class WorkspaceFileHandle {
  readonly #provider: WorkspaceProvider;
  readonly #fd: number;
  readonly #mode: OpenMode;
  readonly path: string;
  position = 0;
  closed = false;

  constructor(provider: WorkspaceProvider, fd: number, path: string, mode: OpenMode) {
    this.#provider = provider;
    this.#fd = fd;
    this.path = path;
    this.#mode = mode;
  }

  get flags(): OpenMode {
    return this.#mode;
  }

  #check(syscall: string, access?: "read" | "write"): void {
    if (this.closed || (access && !this.#mode[access])) throw nodeError("EBADF", syscall);
  }

  readSync(buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset, position?: number | bigint | null): number {
    this.#check("read", "read");
    const at = position === null || position === undefined || position === -1 ? this.position : Number(position);
    const read = this.#provider.readInto(this.#fd, this.path, buffer.subarray(offset, offset + length), at);
    if (position === null || position === undefined || position === -1) this.position = at + read;
    return read;
  }

  async read(buffer: Uint8Array, offset?: number, length?: number, position?: number | null): Promise<{ bytesRead: number; buffer: Uint8Array }> {
    return { bytesRead: this.readSync(buffer, offset, length, position), buffer };
  }

  writeSync(buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset, position?: number | null): number {
    this.#check("write", "write");
    const at = this.#mode.append ? "end" : position === null || position === undefined ? this.position : position;
    const end = this.#provider.writeAt(this.#fd, this.path, buffer.subarray(offset, offset + length), at);
    if (position === null || position === undefined || this.#mode.append) this.position = end;
    return length;
  }

  async write(buffer: Uint8Array, offset?: number, length?: number, position?: number | null): Promise<{ bytesWritten: number; buffer: Uint8Array }> {
    return { bytesWritten: this.writeSync(buffer, offset, length, position), buffer };
  }

  readFileSync(options?: BufferEncoding | { encoding?: BufferEncoding | null } | null): Buffer | string {
    this.#check("read", "read");
    const size = this.statSync().size;
    const bytes = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const got = this.#provider.readInto(this.#fd, this.path, bytes.subarray(read), read);
      if (got === 0) break;
      read += got;
    }
    const encoding = typeof options === "string" ? options : options?.encoding;
    return encoding ? bytes.toString(encoding, 0, read) : bytes.subarray(0, read);
  }

  async readFile(options?: BufferEncoding | { encoding?: BufferEncoding | null } | null): Promise<Buffer | string> {
    return this.readFileSync(options);
  }

  writeFileSync(data: string | Uint8Array, options?: BufferEncoding | { encoding?: BufferEncoding | null } | null): void {
    const encoding = (typeof options === "string" ? options : options?.encoding) ?? "utf8";
    const bytes = typeof data === "string" ? Buffer.from(data, encoding) : data;
    this.writeSync(bytes, 0, bytes.byteLength, this.#mode.append ? null : this.position);
  }

  async writeFile(data: string | Uint8Array, options?: BufferEncoding | { encoding?: BufferEncoding | null } | null): Promise<void> {
    this.writeFileSync(data, options);
  }

  statSync(): WorkspaceStats {
    this.#check("fstat");
    return this.#provider.fstat(this.#fd, this.path);
  }

  async stat(): Promise<WorkspaceStats> {
    return this.statSync();
  }

  truncateSync(length = 0): void {
    this.#check("ftruncate", "write");
    this.#provider.ftruncate(this.#fd, this.path, length);
  }

  async truncate(length?: number): Promise<void> {
    this.truncateSync(length);
  }

  /** fsync without waiting: the file lands in the replica now and goes out with the next push. */
  syncSync(): void {
    this.#check("fsync");
    this.#provider.fsyncLocal(this.#fd);
  }

  /** fsync: resolves once the workspace holds the file (as fsync on the mount). */
  async sync(): Promise<void> {
    this.#check("fsync");
    await this.#provider.fsync(this.#fd);
  }

  async datasync(): Promise<void> {
    await this.sync();
  }

  closeSync(): void {
    if (this.closed) throw nodeError("EBADF", "close");
    this.closed = true;
    this.#provider.close(this.#fd, this.path);
  }

  async close(): Promise<void> {
    this.closeSync();
  }
}

/** The S_IFMT bits of each type, as stat(2) carries them. */
const TYPE_BITS: Record<FileType, number> = {
  fifo: constants.S_IFIFO,
  "character-device": constants.S_IFCHR,
  directory: constants.S_IFDIR,
  "block-device": constants.S_IFBLK,
  file: constants.S_IFREG,
  symlink: constants.S_IFLNK,
  socket: constants.S_IFSOCK,
};

/** An engine inode as `fs.Stats` shows it. */
export class WorkspaceStats {
  readonly dev = 0;
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev: number;
  readonly blksize = 4096;
  readonly ino: number;
  readonly size: number;
  readonly blocks: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly birthtimeMs: number;
  readonly atime: Date;
  readonly mtime: Date;
  readonly ctime: Date;
  readonly birthtime: Date;
  readonly #type: FileType;

  constructor(stats: Stats) {
    this.#type = stats.type;
    this.mode = TYPE_BITS[stats.type] | stats.mode;
    this.nlink = stats.nlink;
    this.uid = stats.uid;
    this.gid = stats.gid;
    this.rdev = stats.rdev;
    this.ino = stats.ino;
    this.size = stats.size;
    this.blocks = Math.ceil(stats.size / 512);
    this.atimeMs = stats.atimeMs;
    this.mtimeMs = stats.mtimeMs;
    this.ctimeMs = stats.ctimeMs;
    this.birthtimeMs = stats.birthtimeMs;
    this.atime = new Date(stats.atimeMs);
    this.mtime = new Date(stats.mtimeMs);
    this.ctime = new Date(stats.ctimeMs);
    this.birthtime = new Date(stats.birthtimeMs);
  }

  isFile = () => this.#type === "file";
  isDirectory = () => this.#type === "directory";
  isSymbolicLink = () => this.#type === "symlink";
  isFIFO = () => this.#type === "fifo";
  isSocket = () => this.#type === "socket";
  isCharacterDevice = () => this.#type === "character-device";
  isBlockDevice = () => this.#type === "block-device";
}

/** A directory entry as `readdir(…, { withFileTypes: true })` gives it. */
export class WorkspaceDirent {
  readonly name: string;
  readonly parentPath: string;
  readonly #type: FileType;

  constructor(name: string, type: FileType, parentPath: string) {
    this.name = name;
    this.#type = type;
    this.parentPath = parentPath;
  }

  /** Node's deprecated alias of `parentPath`. */
  get path(): string {
    return this.parentPath;
  }

  isFile = () => this.#type === "file";
  isDirectory = () => this.#type === "directory";
  isSymbolicLink = () => this.#type === "symlink";
  isFIFO = () => this.#type === "fifo";
  isSocket = () => this.#type === "socket";
  isCharacterDevice = () => this.#type === "character-device";
  isBlockDevice = () => this.#type === "block-device";
}
