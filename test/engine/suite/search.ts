import { describe, expect, it } from "vitest";
import type { WorkspaceFs } from "../../../src/workspace-do/engine.ts";
import { find, grep } from "../../../src/workspace-do/search.ts";
import { expectError, type SuiteContext, small } from "./helpers.ts";

/** find and grep over the tree (`search.ts`). */
export function describeSearch({ run }: SuiteContext): void {
  describe("find", () => {
    const tree = (fs: WorkspaceFs) => {
      for (const path of [
        "/src/a.ts",
        "/src/b.js",
        "/src/lib/c.ts",
        "/src/lib/d.md",
        "/node_modules/x/index.ts",
        "/README.md",
        "/.env",
        "/src/e1.ts",
        "/src/e2.ts",
        "/src/eb.ts",
      ]) {
        fs.mkdir(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
        fs.writeFile(path, path);
      }
    };
    const paths = (fs: WorkspaceFs, options: Parameters<typeof find>[1]) => find(fs, options).matches.map((match) => match.path);

    it("matches *, **, ?, {a,b} and [ab] against paths below the search root", () =>
      run((fs) => {
        tree(fs);
        expect(paths(fs, { pattern: "*.md" })).toEqual(["/README.md"]);
        expect(paths(fs, { pattern: "**/*.ts", path: "/src" })).toEqual(["/src/a.ts", "/src/e1.ts", "/src/e2.ts", "/src/eb.ts", "/src/lib/c.ts"]);
        expect(paths(fs, { pattern: "e?.ts", path: "/src" })).toEqual(["/src/e1.ts", "/src/e2.ts", "/src/eb.ts"]);
        expect(paths(fs, { pattern: "e[12].ts", path: "src" })).toEqual(["/src/e1.ts", "/src/e2.ts"]);
        expect(paths(fs, { pattern: "src/*.{js,md}" })).toEqual(["/src/b.js"]);
        expect(paths(fs, { pattern: "**/*.{js,md}" })).toEqual(["/README.md", "/src/b.js", "/src/lib/d.md"]);
        expect(paths(fs, { pattern: "*" })).toEqual(["/.env", "/README.md", "/node_modules", "/src"]);
        expect(paths(fs, { pattern: "*", dot: false })).toEqual(["/README.md", "/node_modules", "/src"]);
      }));

    it("prunes excluded directories without entering them", () =>
      run((fs) => {
        tree(fs);
        expect(paths(fs, { pattern: "**/*.ts", exclude: ["node_modules"] })).toEqual(["/src/a.ts", "/src/e1.ts", "/src/e2.ts", "/src/eb.ts", "/src/lib/c.ts"]);
        expect(paths(fs, { pattern: "**", exclude: ["src/lib", "*.ts", "node_modules"] })).toEqual(["/.env", "/README.md", "/src", "/src/b.js"]);
      }));

    it("pages through matches with a cursor, each exactly once", () =>
      run((fs) => {
        tree(fs);
        const all = paths(fs, { pattern: "**" });
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = find(fs, { pattern: "**", limit: 3, cursor });
          expect(page.matches.length).toBeLessThanOrEqual(3);
          seen.push(...page.matches.map((match) => match.path));
          cursor = page.nextCursor;
        } while (cursor);
        expect(seen).toEqual(all);
        expect(all).toHaveLength(14);
      }));

    it("fails with EINVAL for an empty pattern or bad limit, ENOENT and ENOTDIR for the root", () =>
      run((fs) => {
        tree(fs);
        expectError(() => find(fs, { pattern: "" }), "EINVAL");
        expectError(() => find(fs, { pattern: "*", limit: 0 }), "EINVAL");
        expectError(() => find(fs, { pattern: "*", path: "/nope" }), "ENOENT");
        expectError(() => find(fs, { pattern: "*", path: "/README.md" }), "ENOTDIR");
      }));

    const plant = (fs: WorkspaceFs, files: Record<string, string>) => {
      for (const [path, data] of Object.entries(files)) {
        fs.mkdir(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
        fs.writeFile(path, data);
      }
    };

    it("skips .git/ and what .gitignore ignores by default, and everything shows with gitignore false", () =>
      run((fs) => {
        plant(fs, {
          "/.gitignore": "# build output\nnode_modules/\n*.log\n",
          "/.git/HEAD": "ref: refs/heads/main\n",
          "/node_modules/x/index.ts": "",
          "/src/a.ts": "",
          "/src/debug.log": "",
          "/src/node_modules/y.ts": "",
          "/app.log": "",
          "/README.md": "",
        });
        expect(paths(fs, { pattern: "**" })).toEqual(["/.gitignore", "/README.md", "/src", "/src/a.ts"]);
        expect(paths(fs, { pattern: "*" })).toEqual(["/.gitignore", "/README.md", "/src"]);
        expect(paths(fs, { pattern: "**/*.ts" })).toEqual(["/src/a.ts"]);
        expect(paths(fs, { pattern: "**", gitignore: false })).toEqual([
          "/.git",
          "/.git/HEAD",
          "/.gitignore",
          "/README.md",
          "/app.log",
          "/node_modules",
          "/node_modules/x",
          "/node_modules/x/index.ts",
          "/src",
          "/src/a.ts",
          "/src/debug.log",
          "/src/node_modules",
          "/src/node_modules/y.ts",
        ]);
      }));

    it("skips entries named .git of any type without a .gitignore", () =>
      run((fs) => {
        plant(fs, { "/repo/.git/config": "", "/repo/a.ts": "", "/worktree/.git": "gitdir: /repo/.git/worktrees/w\n", "/worktree/b.ts": "" });
        expect(paths(fs, { pattern: "**" })).toEqual(["/repo", "/repo/a.ts", "/worktree", "/worktree/b.ts"]);
        expect(paths(fs, { pattern: "**/.git" })).toEqual([]);
        expect(paths(fs, { pattern: "**/.git", gitignore: false })).toEqual(["/repo/.git", "/worktree/.git"]);
      }));

    it("applies nested .gitignore files relative to their directory, anchored and negated, deeper ones overruling", () =>
      run((fs) => {
        plant(fs, {
          "/.gitignore": "*.log\nbuild/\n",
          "/pkg/.gitignore": "/dist\n*.tmp\n!important.tmp\n!keep.log\n",
          "/pkg/dist/a.js": "",
          "/pkg/sub/dist/b.js": "",
          "/dist/c.js": "",
          "/pkg/keep.log": "",
          "/pkg/other.log": "",
          "/pkg/x.tmp": "",
          "/pkg/important.tmp": "",
          "/pkg/sub/build/z.js": "",
          "/x.tmp": "",
        });
        expect(paths(fs, { pattern: "**" })).toEqual([
          "/.gitignore",
          "/dist",
          "/dist/c.js",
          "/pkg",
          "/pkg/.gitignore",
          "/pkg/important.tmp",
          "/pkg/keep.log",
          "/pkg/sub",
          "/pkg/sub/dist",
          "/pkg/sub/dist/b.js",
          "/x.tmp",
        ]);
      }));

    it("honours the .gitignore files of the directories above the search root", () =>
      run((fs) => {
        plant(fs, {
          "/.gitignore": "*.log\nbuild/\n/top-only\n",
          "/pkg/.gitignore": "secret/\n",
          "/pkg/sub/a.ts": "",
          "/pkg/sub/a.log": "",
          "/pkg/sub/build/b.ts": "",
          "/pkg/sub/secret/c.ts": "",
          "/pkg/sub/top-only/d.ts": "",
        });
        expect(paths(fs, { pattern: "**", path: "/pkg/sub" })).toEqual(["/pkg/sub/a.ts", "/pkg/sub/top-only", "/pkg/sub/top-only/d.ts"]);
        expect(paths(fs, { pattern: "*", path: "/pkg/sub" })).toEqual(["/pkg/sub/a.ts", "/pkg/sub/top-only"]);
      }));

    it("searches inside an ignored directory the search is pointed at, as ripgrep does", () =>
      run((fs) => {
        plant(fs, { "/.gitignore": "node_modules/\n", "/node_modules/zod/index.js": "", "/node_modules/zod/lib/x.js": "", "/node_modules/zod/.git/HEAD": "" });
        expect(paths(fs, { pattern: "**", path: "/node_modules/zod" })).toEqual([
          "/node_modules/zod/index.js",
          "/node_modules/zod/lib",
          "/node_modules/zod/lib/x.js",
        ]);
        expect(paths(fs, { pattern: "**" })).toEqual(["/.gitignore"]);
      }));

    it("lets directory-only patterns pass files and symlinks of the same name", () =>
      run((fs) => {
        plant(fs, { "/.gitignore": "out/\ncache/\n", "/out": "a file", "/cache/c.txt": "", "/src/out/o.js": "", "/src/cache": "a file too" });
        fs.symlink("/cache", "/lib-cache");
        fs.mkdir("/lib");
        fs.symlink("/cache", "/lib/cache");
        expect(paths(fs, { pattern: "**" })).toEqual(["/.gitignore", "/lib", "/lib/cache", "/lib-cache", "/out", "/src", "/src/cache"]);
      }));

    it("pages with a cursor through what is not ignored, each match exactly once", () =>
      run((fs) => {
        plant(fs, {
          "/.gitignore": "node_modules/\n*.log\n",
          "/a/.gitignore": "!keep.log\ngen/\n",
          "/a/1.ts": "",
          "/a/2.log": "",
          "/a/keep.log": "",
          "/a/gen/3.ts": "",
          "/a/b/4.ts": "",
          "/a/b/5.log": "",
          "/node_modules/m/6.ts": "",
          "/z/7.ts": "",
          "/z/node_modules/8.ts": "",
          "/.git/9": "",
        });
        const all = paths(fs, { pattern: "**" });
        expect(all).toEqual(["/.gitignore", "/a", "/a/.gitignore", "/a/1.ts", "/a/b", "/a/b/4.ts", "/a/keep.log", "/z", "/z/7.ts"]);
        for (const limit of [1, 2, 4]) {
          const seen: string[] = [];
          let cursor: string | undefined;
          do {
            const page = find(fs, { pattern: "**", limit, cursor });
            expect(page.matches.length).toBeLessThanOrEqual(limit);
            seen.push(...page.matches.map((match) => match.path));
            cursor = page.nextCursor;
          } while (cursor);
          expect(seen).toEqual(all);
        }
      }));
  });

  // grep answers the same with the content index and without it (reading every file).
  for (const contentIndex of [true, false]) describeGrep((body, options) => run(body, { ...options, contentIndex }), contentIndex);
}

function describeGrep(run: SuiteContext["run"], contentIndex: boolean): void {
  describe(`grep (content index ${contentIndex ? "on" : "off"})`, () => {
    const tree = (fs: WorkspaceFs) => {
      fs.mkdir("/src/lib", { recursive: true });
      fs.writeFile("/src/app.ts", "import x from 'x';\nconst TODO = 1;\n// todo: later\nexport default x;\n");
      fs.writeFile("/src/lib/util.ts", "export const a = 1;\r\nexport const b = 2;\r\n// TODO split\r\n");
      fs.writeFile("/src/notes.md", "TODO: docs\nno newline at end TODO");
      fs.writeFile("/src/image.bin", new Uint8Array([0x89, 0, 1, 2, 84, 79, 68, 79]));
    };

    it("finds regex and literal matches with line numbers, skipping binary files", () =>
      run((fs) => {
        tree(fs);
        const result = grep(fs, { pattern: "TODO" });
        expect(result.lines!.map((line) => `${line.path}:${line.line}:${line.text}`)).toEqual([
          "/src/app.ts:2:const TODO = 1;",
          "/src/lib/util.ts:3:// TODO split",
          "/src/notes.md:1:TODO: docs",
          "/src/notes.md:2:no newline at end TODO",
        ]);
        expect(result).toMatchObject({ filesSearched: 3, binaryFilesSkipped: 1 });
        expect(grep(fs, { pattern: "const [ab] =" }).lines!.map((line) => line.line)).toEqual([1, 2]);
        expect(grep(fs, { pattern: "x from 'x'", literal: true }).lines).toHaveLength(1);
        expect(grep(fs, { pattern: "a.b", literal: true }).lines).toHaveLength(0);
      }, small));

    it("ignores case, filters by include glob and searches one file", () =>
      run((fs) => {
        tree(fs);
        expect(grep(fs, { pattern: "todo", ignoreCase: true, include: "*.ts" }).lines!.map((line) => [line.path, line.line])).toEqual([
          ["/src/app.ts", 2],
          ["/src/app.ts", 3],
          ["/src/lib/util.ts", 3],
        ]);
        expect(grep(fs, { pattern: "todo", ignoreCase: true, include: "lib/*.ts", path: "/src" }).lines).toHaveLength(1);
        expect(grep(fs, { pattern: "export", path: "/src/app.ts" }).lines!.map((line) => line.line)).toEqual([4]);
      }));

    it("returns context lines around matches", () =>
      run((fs) => {
        fs.writeFile("/f", ["one", "two", "three", "four", "five", "six"].join("\n"));
        const [match] = grep(fs, { pattern: "four", context: 2 }).lines!;
        expect(match).toMatchObject({ line: 4, text: "four", before: ["two", "three"], after: ["five", "six"] });
        const first = grep(fs, { pattern: "one", context: 1 }).lines![0]!;
        expect(first).toMatchObject({ before: [], after: ["two"] });
      }, small));

    it("lists files with matches and counts per file", () =>
      run((fs) => {
        tree(fs);
        expect(grep(fs, { pattern: "TODO", mode: "files" }).files).toEqual([{ path: "/src/app.ts" }, { path: "/src/lib/util.ts" }, { path: "/src/notes.md" }]);
        expect(grep(fs, { pattern: "TODO", mode: "count" }).files).toEqual([
          { path: "/src/app.ts", count: 1 },
          { path: "/src/lib/util.ts", count: 1 },
          { path: "/src/notes.md", count: 2 },
        ]);
      }));

    it("pages within and across files and stops once the page is full", () =>
      run((fs) => {
        fs.mkdir("/d");
        for (const name of ["a", "b", "c"]) fs.writeFile(`/d/${name}`, Array.from({ length: 5 }, (_, i) => `hit ${name}${i}`).join("\n"));
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = grep(fs, { pattern: "hit", limit: 4, cursor });
          seen.push(...page.lines!.map((line) => line.text));
          cursor = page.nextCursor;
          pages++;
          if (cursor) expect(page.filesSearched).toBeLessThanOrEqual(2);
        } while (cursor);
        expect(seen).toEqual(["a", "b", "c"].flatMap((name) => Array.from({ length: 5 }, (_, i) => `hit ${name}${i}`)));
        expect(pages).toBe(4);
      }, small));

    it("fails with EINVAL for a bad regex or cursor and ENOENT for a missing path", () =>
      run((fs) => {
        tree(fs);
        const error = expectError(() => grep(fs, { pattern: "([a-z" }), "EINVAL");
        expect(error.message).toMatch(/not a valid regular expression/);
        expectError(() => grep(fs, { pattern: "" }), "EINVAL");
        expectError(() => grep(fs, { pattern: "x", cursor: "garbage" }), "EINVAL");
        expectError(() => grep(fs, { pattern: "x", path: "/nope" }), "ENOENT");
      }));

    it("skips ignored files by default, but searches an ignored file or directory named as the path", () =>
      run((fs) => {
        fs.mkdir("/node_modules/m", { recursive: true });
        fs.mkdir("/.git");
        fs.mkdir("/src");
        fs.writeFile("/.gitignore", "*.log\nnode_modules/\n");
        fs.writeFile("/src/.gitignore", "!keep.log\n");
        fs.writeFile("/app.ts", "const needle = 1;\n");
        fs.writeFile("/debug.log", "needle in a log\n");
        fs.writeFile("/src/keep.log", "kept needle\n");
        fs.writeFile("/src/drop.log", "dropped needle\n");
        fs.writeFile("/node_modules/m/index.js", "module needle\n");
        fs.writeFile("/.git/COMMIT_EDITMSG", "needle\n");
        const found = (options: Omit<Parameters<typeof grep>[1], "pattern">) =>
          grep(fs, { pattern: "needle", mode: "files", ...options }).files!.map((file) => file.path);
        expect(found({})).toEqual(["/app.ts", "/src/keep.log"]);
        // With the index, the two .gitignore files cannot match and are never read.
        expect(grep(fs, { pattern: "needle" })).toMatchObject({ filesSearched: contentIndex ? 2 : 4 });
        expect(found({ path: "/src" })).toEqual(["/src/keep.log"]);
        expect(found({ path: "/debug.log" })).toEqual(["/debug.log"]);
        expect(found({ path: "/src/drop.log" })).toEqual(["/src/drop.log"]);
        expect(found({ path: "/node_modules" })).toEqual(["/node_modules/m/index.js"]);
        expect(found({ path: "/.git" })).toEqual(["/.git/COMMIT_EDITMSG"]);
        expect(found({ gitignore: false })).toEqual([
          "/.git/COMMIT_EDITMSG",
          "/app.ts",
          "/debug.log",
          "/node_modules/m/index.js",
          "/src/drop.log",
          "/src/keep.log",
        ]);
        expect(found({ include: "*.log" })).toEqual(["/src/keep.log"]);
      }));

    it("pages past ignored files, each match exactly once", () =>
      run((fs) => {
        fs.mkdir("/d/skip", { recursive: true });
        fs.writeFile("/d/.gitignore", "skip/\nb\n");
        for (const name of ["a", "b", "c", "skip/s"]) fs.writeFile(`/d/${name}`, Array.from({ length: 3 }, (_, i) => `hit ${name}${i}`).join("\n"));
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = grep(fs, { pattern: "hit", limit: 2, cursor });
          seen.push(...page.lines!.map((line) => line.text));
          cursor = page.nextCursor;
        } while (cursor);
        expect(seen).toEqual(["hit a0", "hit a1", "hit a2", "hit c0", "hit c1", "hit c2"]);
      }, small));
  });
}
