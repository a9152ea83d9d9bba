import { describe, expect, it } from "vitest";
import { WorkspaceFs } from "../../src/workspace-do/engine.ts";
import { openNodeSql } from "../../src/workspace-do/sql-node.ts";
import { LocalPaths } from "../../src/wsd/local-paths.ts";

describe("LocalPaths", () => {
  it("keeps nothing local by default, and .wsdignore itself never is", () => {
    const replica = new WorkspaceFs(openNodeSql(":memory:"));
    const local = new LocalPaths(() => replica);
    expect(local.isLocal("/node_modules", "directory")).toBe(false);
    replica.writeFile("/.wsdignore", "*\n");
    expect(local.isLocal("/.wsdignore", "file")).toBe(false);
    expect(local.isLocal("/anything", "file")).toBe(true);
  });

  it("reads /.wsdignore (gitignore syntax) and --local globs, with everything below a local directory", () => {
    const replica = new WorkspaceFs(openNodeSql(":memory:"));
    replica.writeFile("/.wsdignore", "# rebuildable\n/build/\n*.pyc\n!keep.pyc\n");
    const local = new LocalPaths(() => replica, ["node_modules/"]);
    expect(local.isLocal("/node_modules", "directory")).toBe(true);
    expect(local.isLocal("/app/node_modules/zod/index.js", "file")).toBe(true);
    expect(local.isLocal("/node_modules", "file")).toBe(false); // `dir/` names directories only
    expect(local.isLocal("/build/out/main.o", "file")).toBe(true);
    expect(local.isLocal("/src/build", "directory")).toBe(false); // anchored at the root
    expect(local.isLocal("/src/x.pyc", "file")).toBe(true);
    expect(local.isLocal("/src/keep.pyc", "file")).toBe(false);
    expect(local.isLocal("/src/main.py", "file")).toBe(false);
    // A path that is gone (its type unknown) is local as either.
    expect(local.isLocal("/build")).toBe(true);
    expect(local.crossesBoundary("/node_modules/x", "/src/x", "directory")).toBe(true);
    expect(local.crossesBoundary("/src/a", "/src/b", "file")).toBe(false);
    expect(local.crossesBoundary("/build/a", "/node_modules/a", "file")).toBe(false);
  });

  it("follows changes to /.wsdignore, written here or applied by sync", () => {
    const replica = new WorkspaceFs(openNodeSql(":memory:"));
    const local = new LocalPaths(() => replica);
    expect(local.isLocal("/dist/a.js", "file")).toBe(false);
    replica.writeFile("/.wsdignore", "dist/\n");
    expect(local.isLocal("/dist/a.js", "file")).toBe(true);
    // Pulled changes stay out of the replica's own change log; the rules follow them anyway.
    replica.batch(() => replica.writeFile("/.wsdignore", "out/\n"), { record: false });
    expect(local.isLocal("/dist/a.js", "file")).toBe(false);
    expect(local.isLocal("/out/a.js", "file")).toBe(true);
    replica.rm("/.wsdignore");
    expect(local.isLocal("/out/a.js", "file")).toBe(false);
  });
});
