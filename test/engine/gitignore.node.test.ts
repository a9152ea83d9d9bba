import { describe, expect, it, vi } from "vitest";
import { WorkspaceFs } from "../../src/workspace-do/engine.ts";
import { createIgnoreFilter, MAX_GITIGNORE_BYTES } from "../../src/workspace-do/gitignore.ts";
import { createSkipFilter, find, grep } from "../../src/workspace-do/search.ts";
import { openNodeSql } from "../../src/workspace-do/sql-node.ts";

function workspace(files: Record<string, string> = {}): WorkspaceFs {
  const fs = new WorkspaceFs(openNodeSql(":memory:"));
  for (const [path, data] of Object.entries(files)) {
    fs.mkdir(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
    fs.writeFile(path, data);
  }
  return fs;
}

const found = (fs: WorkspaceFs, path = "/") => find(fs, { pattern: "**", path }).matches.map((match) => match.path);

describe("createIgnoreFilter", () => {
  it("follows git's pattern syntax: comments, escapes, **, anchoring, CRLF and a BOM, case-sensitively", () => {
    const fs = workspace({
      "/.gitignore": "\uFEFF# a comment\r\n\\#hash\r\ndocs/**/*.md\r\n**/tmp\r\n/only-top\r\n*.LOG\r\na/*/c\r\ntrailing   \r\n",
    });
    const ignored = createIgnoreFilter(fs);
    const cases: [string, "file" | "directory", boolean][] = [
      ["/#hash", "file", true],
      ["/# a comment", "file", false],
      ["/docs/x.md", "file", true],
      ["/docs/a/b/x.md", "file", true],
      ["/docs/x.txt", "file", false],
      ["/src/docs/x.md", "file", false],
      ["/tmp", "directory", true],
      ["/a/b/tmp", "file", true],
      ["/only-top", "file", true],
      ["/sub/only-top", "file", false],
      ["/x.LOG", "file", true],
      ["/x.log", "file", false],
      ["/a/b/c", "file", true],
      ["/a/b/x/c", "file", false],
      ["/trailing", "file", true],
      ["/.gitignore", "file", false],
      ["/.git", "directory", true],
      ["/deep/.git", "file", true],
    ];
    for (const [path, type, expected] of cases) expect([path, ignored(path, type)]).toEqual([path, expected]);
  });

  it("lets a deeper .gitignore re-include a directory a shallower one ignores", () => {
    const fs = workspace({ "/.gitignore": "build/\n", "/a/.gitignore": "!build/\n", "/build/x.js": "", "/a/build/y.js": "" });
    expect(found(fs)).toEqual(["/.gitignore", "/a", "/a/.gitignore", "/a/build", "/a/build/y.js"]);
  });

  it("applies no .gitignore above the nearest directory holding .git", () => {
    const fs = workspace({
      "/.gitignore": "*.log\n",
      "/vendor/y.log": "",
      "/vendor/lib/.git/HEAD": "",
      "/vendor/lib/.gitignore": "*.tmp\n",
      "/vendor/lib/x.log": "",
      "/vendor/lib/x.tmp": "",
      "/vendor/lib/sub/z.log": "",
    });
    expect(found(fs)).toEqual([
      "/.gitignore",
      "/vendor",
      "/vendor/lib",
      "/vendor/lib/.gitignore",
      "/vendor/lib/sub",
      "/vendor/lib/sub/z.log",
      "/vendor/lib/x.log",
    ]);
    expect(found(fs, "/vendor/lib/sub")).toEqual(["/vendor/lib/sub/z.log"]);
  });

  it("skips a .gitignore that is a directory, a symlink or too large, and an empty one", () => {
    const fs = workspace({ "/rules.txt": "*.js\n", "/a/x.js": "", "/b/x.js": "", "/c/x.js": "", "/d/x.js": "", "/d/.gitignore": "" });
    fs.mkdir("/a/.gitignore");
    fs.writeFile("/a/.gitignore/x.js", "");
    fs.symlink("/rules.txt", "/b/.gitignore");
    fs.writeFile("/c/.gitignore", `*.js\n${"#".repeat(MAX_GITIGNORE_BYTES)}`);
    expect(found(fs).filter((path) => path.endsWith("x.js"))).toEqual(["/a/.gitignore/x.js", "/a/x.js", "/b/x.js", "/c/x.js", "/d/x.js"]);
    fs.writeFile("/c/.gitignore", "*.js\n");
    expect(found(fs, "/c")).toEqual(["/c/.gitignore"]);
  });

  it("reads each .gitignore once per filter, only for directories it is asked about", () => {
    const fs = workspace({ "/.gitignore": "*.log\n", "/a/.gitignore": "*.tmp\n", "/b/.gitignore": "*.md\n", "/a/1.log": "", "/a/2.tmp": "", "/a/3.ts": "" });
    const readFile = vi.spyOn(fs, "readFile");
    const ignored = createIgnoreFilter(fs);
    expect(["/a/1.log", "/a/2.tmp", "/a/3.ts", "/a/1.log"].map((path) => ignored(path, "file"))).toEqual([true, true, false, true]);
    expect(readFile.mock.calls.map(([path]) => path)).toEqual(["/a/.gitignore", "/.gitignore"]);
    // A new filter (a new search) sees a changed .gitignore.
    fs.writeFile("/a/.gitignore", "");
    expect(ignored("/a/2.tmp", "file")).toBe(true);
    expect(createIgnoreFilter(fs)("/a/2.tmp", "file")).toBe(false);
  });

  it("does not throw on odd patterns", () => {
    const fs = workspace({ "/.gitignore": "[z-a]\n\\\n!\n[\n**\\/\n*[\n/\n", "/ok.ts": "" });
    expect(() => found(fs)).not.toThrow();
  });
});

describe("createSkipFilter", () => {
  it("combines exclude globs and .gitignore rules the way find and grep apply them", () => {
    const fs = workspace({ "/.gitignore": "*.log\n", "/src/a.ts": "x", "/src/a.log": "x", "/src/gen/b.ts": "x", "/src/c.md": "x" });
    const shown = (skip: ReturnType<typeof createSkipFilter>) =>
      [...fs.walk("/src", { enter: (entry) => !skip(entry) })].filter((entry) => !skip(entry)).map((entry) => entry.path);
    expect(shown(createSkipFilter(fs, "/src", { exclude: ["gen", "*.md"] }))).toEqual(["/src/a.ts"]);
    expect(grep(fs, { pattern: "x", path: "/src", exclude: ["gen", "*.md"], mode: "files" }).files).toEqual([{ path: "/src/a.ts" }]);
    expect(shown(createSkipFilter(fs, "/src", { exclude: ["gen"], gitignore: false }))).toEqual(["/src/a.log", "/src/a.ts", "/src/c.md"]);
    expect(shown(createSkipFilter(fs, "/src"))).toEqual(["/src/a.ts", "/src/c.md", "/src/gen", "/src/gen/b.ts"]);
  });
});
