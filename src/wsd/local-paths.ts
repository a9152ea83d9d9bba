import ignore from "ignore";
import type { FileType, WorkspaceFs } from "../workspace-do/engine.ts";
import { isFsError } from "../workspace-do/errors.ts";

/** The file, in the workspace root, that names the local-only paths (gitignore syntax). */
export const LOCAL_PATHS_FILE = "/.wsdignore";
/** A larger .wsdignore is not read. */
const MAX_RULES_BYTES = 256 * 1024;

/**
 * Which paths of a mount stay in its replica only: rebuildable trees (`node_modules/`,
 * `.venv/`, `target/`) that need not cost a push per file nor show through MCP. Named by
 * `/.wsdignore` in the workspace (gitignore syntax, relative to the root; itself an ordinary,
 * synced file, so every sandbox of the workspace reads the same rules) and by `--local` globs.
 * Everything below a local directory is local. Default: nothing is.
 *
 * The rules are read again whenever `/.wsdignore` changes (written here or pulled: its inode,
 * size and change time, since a pulled change is not in the replica's own change log).
 */
export class LocalPaths {
  readonly #replica: () => WorkspaceFs;
  readonly #globs: string[];
  #rules: ignore.Ignore | undefined;
  #rulesVersion: string | undefined;

  constructor(replica: () => WorkspaceFs, globs: string[] = []) {
    this.#replica = replica;
    this.#globs = globs;
  }

  /**
   * Whether `path` (absolute, normalized) is local. `type` is what it is; for a path that is
   * gone (a tombstone) leave it out: it is then local as a file or as a directory.
   */
  isLocal(path: string, type?: FileType): boolean {
    if (path === "/" || path === LOCAL_PATHS_FILE) return false;
    const rules = this.#current();
    if (!rules) return false;
    const relative = path.slice(1);
    if (type !== "directory" && rules.ignores(relative)) return true;
    return type !== undefined && type !== "directory" ? false : rules.ignores(`${relative}/`);
  }

  /** True when a rename from `from` to `to` would move something into or out of the local paths (EXDEV). */
  crossesBoundary(from: string, to: string, type: FileType): boolean {
    return this.isLocal(from, type) !== this.isLocal(to, type);
  }

  #current(): ignore.Ignore | undefined {
    const replica = this.#replica();
    const stats = statsOf(replica);
    const version = stats ? `${stats.ino}:${stats.size}:${stats.ctimeMs}:${stats.mtimeMs}` : "none";
    if (version !== this.#rulesVersion) {
      this.#rulesVersion = version;
      const text = stats?.type === "file" && stats.size <= MAX_RULES_BYTES ? replica.readFile(LOCAL_PATHS_FILE, { encoding: "utf8" }) : undefined;
      this.#rules =
        text === undefined && this.#globs.length === 0
          ? undefined
          : ignore({ ignorecase: false })
              .add(this.#globs)
              .add(text ?? "");
    }
    return this.#rules;
  }
}

function statsOf(replica: WorkspaceFs) {
  try {
    return replica.lstat(LOCAL_PATHS_FILE);
  } catch (error) {
    if (isFsError(error)) return undefined;
    throw error;
  }
}
