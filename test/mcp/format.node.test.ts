import { describe, expect, it } from "vitest";
import { errorResult } from "../../src/mcp/format.ts";
import { WorkspaceFs } from "../../src/workspace-do/engine.ts";
import { openNodeSql } from "../../src/workspace-do/sql-node.ts";

/** The error a call throws, as the tool result a model reads. */
function resultOf(fs: WorkspaceFs, call: () => unknown): string {
  try {
    call();
  } catch (error) {
    return errorResult(fs, error, "read")
      .content.map((part) => ("text" in part ? part.text : ""))
      .join("");
  }
  throw new Error("the call did not fail");
}

describe("did you mean", () => {
  it("suggests the near name of a missing file", () => {
    const fs = new WorkspaceFs(openNodeSql(":memory:"));
    fs.writeFile("/app.ts", "x");
    expect(resultOf(fs, () => fs.readFile("/ap.ts"))).toBe("ENOENT: /ap.ts does not exist (did you mean /app.ts?)");
  });

  it("never suggests the path that was asked for, as with a symlink into a missing directory", () => {
    const fs = new WorkspaceFs(openNodeSql(":memory:"));
    fs.symlink("/nodir/x", "/link");
    expect(resultOf(fs, () => fs.readFile("/link"))).toBe("ENOENT: /link does not exist (there is no /nodir)");
  });
});
