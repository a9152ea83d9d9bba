import { Bash, type IFileSystem, InMemoryFs } from "just-bash";
import type { ExecArgs, ExecOutcome, PathChange } from "../mcp/workspace.ts";
import { EXEC_LIMITS, keptStream } from "../wire/exec.ts";
import type { DirEntryWithStats, WorkspaceFs } from "../workspace-do/engine.ts";
import { isFsError } from "../workspace-do/errors.ts";
import { comparePaths, joinPath, normalizePath } from "../workspace-do/paths.ts";

/**
 * `exec` without a sandbox: the command runs in the workspace's own Durable Object, in
 * just-bash (a bash interpreter in TypeScript with its own `grep`, `sed`, `awk`, `find`, `jq`…),
 * over the workspace's tree.
 *
 * The engine commits synchronously and the interpreter is asynchronous, so the command works on
 * a copy: an in-memory file system holding the tree's names and modes, each file's content read
 * from the engine on first use. Every call that changes the copy names its path; when the command
 * ends, what differs under those paths is written to the engine in one batch, as one revision
 * whose source is this run (so `undo {"call": id}` reverts it). A command sees its own changes
 * at once and other writers' only from its start; for the paths it changed, its result wins.
 */

/** Which sandbox `ExecOutcome.wsd` names for a command run here. */
export const OBJECT_SHELL = "(the workspace's own shell)";
/** The copy's ceiling: file content a command may hold at once. */
const MAX_COPY_BYTES = 256 * 1024 * 1024;
/** What just-bash puts in every shell (`/dev/null`, `/proc/self`): written there, nothing reaches the workspace. */
const SHELL_ONLY = ["/dev", "/proc"];
/** Programs a sandbox has and this shell does not, named in the answer to a missing command. */
const SANDBOX_PROGRAMS = "npm, node, git, python, make and compilers";

export async function runInObject(fs: WorkspaceFs, id: string, args: ExecArgs): Promise<ExecOutcome> {
  const started = Date.now();
  const copy = new InMemoryFs(undefined, { maxTotalBytes: MAX_COPY_BYTES });
  await copyTree(fs, copy);
  const touched = new Set<string>();
  const bash = new Bash({
    fs: trackChanges(copy, touched),
    cwd: normalizePath(args.cwd ?? "/"),
    env: { HOME: "/", ...args.env },
    python: false,
    javascript: false,
  });
  const timeoutMs = Math.min(args.timeoutMs ?? EXEC_LIMITS.defaultTimeoutMs, EXEC_LIMITS.maxTimeoutMs);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const cancel = () => deadline.abort();
  args.signal?.addEventListener("abort", cancel, { once: true });
  args.onStarted?.(id, "the workspace's own shell");
  try {
    const { command } = args;
    const result = await bash.exec(command, { signal: deadline.signal, ...(args.stdin !== undefined ? { stdin: args.stdin } : {}) });
    const timedOut = deadline.signal.aborted && !args.signal?.aborted;
    const stderr = explainMissing(result.stderr, result.exitCode);
    args.onOutput?.("stdout", result.stdout);
    args.onOutput?.("stderr", stderr);
    const plan = await planChanges(fs, copy, touched);
    fs.withSource({ kind: "exec", name: OBJECT_SHELL, call: id, detail: command }, () => {
      if (!plan.steps.length) return;
      fs.batch(() => {
        for (const step of plan.steps) step();
      });
    });
    return {
      id,
      wsd: OBJECT_SHELL,
      sandbox: "none",
      exitCode: deadline.signal.aborted ? null : result.exitCode,
      signal: deadline.signal.aborted ? "SIGTERM" : null,
      timedOut,
      stdout: kept(result.stdout),
      stderr: kept(stderr),
      stdoutChars: result.stdout.length,
      stderrChars: stderr.length,
      durationMs: Date.now() - started,
      changes: plan.changes.sort((a, b) => comparePaths(a.path, b.path)),
      conflicts: [],
    };
  } finally {
    clearTimeout(timer);
    args.signal?.removeEventListener("abort", cancel);
  }
}

/** The tree's names, modes and links into `copy`, each file's content left to be read on first use. */
async function copyTree(fs: WorkspaceFs, copy: InMemoryFs, dir = "/"): Promise<void> {
  for (const entry of fs.readdir(dir, { withStats: true }) as DirEntryWithStats[]) {
    const path = joinPath(dir, entry.name);
    const { mode, mtimeMs } = entry.stats;
    if (entry.type === "directory") {
      copy.mkdirSync(path, { recursive: true });
      await copy.chmod(path, mode);
      await copyTree(fs, copy, path);
    } else if (entry.type === "file") {
      copy.writeFileLazy(path, () => fs.readFile(path) as Uint8Array, { mode, mtime: new Date(mtimeMs) });
    } else if (entry.type === "symlink") {
      await copy.symlink(fs.readlink(path), path);
    }
    // FIFOs, sockets and devices have nothing a shell without processes could use.
  }
}

/** `copy` with every call that changes it naming the path it changed. */
function trackChanges(copy: InMemoryFs, touched: Set<string>): IFileSystem {
  const mark = (...paths: string[]) => {
    for (const path of paths) touched.add(normalizePath(path));
  };
  return new Proxy(copy, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      const changing: Record<string, (args: string[]) => string[]> = {
        writeFile: ([path]) => [path!],
        appendFile: ([path]) => [path!],
        mkdir: ([path]) => [path!],
        rm: ([path]) => [path!],
        cp: ([, to]) => [to!],
        mv: ([from, to]) => [from!, to!],
        chmod: ([path]) => [path!],
        symlink: ([, path]) => [path!],
        link: ([, path]) => [path!],
        utimes: ([path]) => [path!],
      };
      const paths = changing[property as string];
      if (!paths) return value.bind(target);
      return (...args: string[]) => {
        mark(...paths(args));
        return value.apply(target, args);
      };
    },
  }) as IFileSystem;
}

type Kind = "file" | "directory" | "symlink" | "other";

/**
 * What to write so the workspace holds, under every touched path, what the copy holds there:
 * steps to run in one batch, and the change each path saw. Content is read from the copy first,
 * since the batch cannot wait.
 */
async function planChanges(fs: WorkspaceFs, copy: InMemoryFs, touched: Set<string>): Promise<{ steps: (() => void)[]; changes: PathChange[] }> {
  const steps: (() => void)[] = [];
  const changes: PathChange[] = [];
  const engineKind = (path: string): Kind | undefined => {
    try {
      const type = fs.lstat(path).type;
      return type === "file" || type === "directory" || type === "symlink" ? type : "other";
    } catch (error) {
      if (isFsError(error)) return undefined;
      throw error;
    }
  };
  const copyKind = async (path: string): Promise<Kind | undefined> => {
    try {
      const stat = await copy.lstat(path);
      return stat.isDirectory ? "directory" : stat.isSymbolicLink ? "symlink" : "file";
    } catch {
      return undefined;
    }
  };
  const removed = (path: string) => {
    const paths = engineKind(path) === "directory" ? [...fs.walk(path)].map((entry) => entry.path) : [];
    for (const gone of [path, ...paths]) changes.push({ path: gone, change: "deleted" });
    steps.push(() => fs.rm(path, { recursive: true, force: true }));
  };
  const visit = async (path: string): Promise<void> => {
    const had = engineKind(path);
    const has = await copyKind(path);
    if (has === undefined) {
      if (had !== undefined) removed(path);
      return;
    }
    const mode = (await copy.lstat(path)).mode & 0o7777;
    if (had !== undefined && had !== has) {
      steps.push(() => fs.rm(path, { recursive: true, force: true }));
    }
    const same = had === has;
    if (has === "directory") {
      if (!same) steps.push(() => fs.mkdir(path, { recursive: true, mode }));
      else if ((fs.lstat(path).mode & 0o7777) !== mode) steps.push(() => fs.chmod(path, mode));
      if (!same) changes.push({ path, change: had === undefined ? "created" : "modified" });
      const names = new Set(await copy.readdir(path));
      if (same) for (const entry of fs.readdir(path)) names.add(entry.name);
      for (const name of [...names].sort()) await visit(joinPath(path, name));
      return;
    }
    if (has === "symlink") {
      const target = await copy.readlink(path);
      if (same && fs.readlink(path) === target) return;
      if (same) steps.push(() => fs.unlink(path));
      steps.push(() => fs.symlink(target, path));
      changes.push({ path, change: had === undefined ? "created" : "modified" });
      return;
    }
    const data = await copy.readFileBuffer(path);
    if (same && (fs.lstat(path).mode & 0o7777) === mode && equalBytes(fs.readFile(path) as Uint8Array, data)) return;
    steps.push(() => fs.writeFile(path, data, { mode, parents: true }));
    if (same) steps.push(() => fs.chmod(path, mode));
    changes.push({ path, change: had === undefined ? "created" : "modified" });
  };
  const under = (path: string, root: string) => path === root || path.startsWith(root === "/" ? "/" : `${root}/`);
  // A path under another touched path is visited with it; the shell's own devices are not the workspace's.
  const roots = [...touched]
    .filter((path) => !SHELL_ONLY.some((root) => under(path, root)))
    .sort(comparePaths)
    .filter((path, index, all) => !all.slice(0, index).some((root) => under(path, root)));
  for (const root of roots) await visit(root);
  return { steps, changes };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A stream as wsd keeps it (head and tail, what was left out noted), so both shells answer alike. */
function kept(text: string): string {
  const half = EXEC_LIMITS.keptChars / 2;
  return text.length <= EXEC_LIMITS.keptChars ? text : keptStream(text.slice(0, half), text.slice(-half), text.length);
}

/** A command this shell lacks says what would run it. */
function explainMissing(stderr: string, exitCode: number): string {
  if (exitCode !== 127) return stderr;
  return stderr.replace(
    /^(?:bash: )?([^:\n]+): command not found$/gm,
    `$1: not available without a sandbox; attach a wsd (wsd mount) to run ${SANDBOX_PROGRAMS}`,
  );
}
