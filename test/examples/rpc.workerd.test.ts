import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

/**
 * WorkspaceAgent's Durable Object RPC methods (what examples/rpc-worker calls), on a real
 * SQLite-backed object in workerd. Successful calls go through a stub, as another Worker makes
 * them; failing ones run inside the object, because here every rejected RPC also surfaces as an
 * unhandled rejection (cloudflare/workers-sdk#14736). Errors across real RPC: test/examples/rpc-worker.node.test.ts.
 */
let workspaces = 0;
const fresh = () => env.WORKSPACE.getByName(`rpc-${workspaces++}`);

describe("WorkspaceAgent RPC", () => {
  it("writes files with their parents, lists them and reads them back as text and bytes", async () => {
    const workspace = fresh();
    await workspace.writeFiles({ "/task.md": "Sum the numbers.\n", "in/data.bin": Uint8Array.from([1, 2, 3]) });
    expect((await workspace.list()).map(({ name, type }) => ({ name, type }))).toEqual([
      { name: "in", type: "directory" },
      { name: "task.md", type: "file" },
    ]);
    expect((await workspace.list("/in"))[0]!.stats.size).toBe(3);
    expect(await workspace.readText("/task.md")).toBe("Sum the numbers.\n");
    expect(await workspace.readFile("/in/data.bin")).toEqual(Uint8Array.from([1, 2, 3]));
  });

  it("writes all files or none: one bad path leaves the tree as it was", async () => {
    const workspace = fresh();
    await workspace.writeFiles({ "/a.txt": "a" });
    await runInDurableObject(workspace, (agent) => {
      expect(() => agent.writeFiles({ "/b.txt": "b", "/a.txt/c.txt": "c" })).toThrow("ENOTDIR: /a.txt exists and is not a directory");
    });
    expect((await workspace.list()).map((entry) => entry.name)).toEqual(["a.txt"]);
  });

  it("removes a file, and a directory with contents only when recursive", async () => {
    const workspace = fresh();
    await workspace.writeFiles({ "/out/one.txt": "1", "/out/deep/two.txt": "2", "/keep.txt": "k" });
    await workspace.remove("/keep.txt");
    await runInDurableObject(workspace, (agent) => expect(() => agent.remove("/out")).toThrow(/^ENOTEMPTY: \/out is a directory that is not empty/));
    await workspace.remove("/out", { recursive: true });
    expect(await workspace.list()).toEqual([]);
  });

  it("fails with an FsError naming the errno code and the path", async () => {
    const workspace = fresh();
    await workspace.writeFiles({ "/file": "x" });
    await runInDurableObject(workspace, (agent) => {
      expect(() => agent.readText("/missing.txt")).toThrow(
        expect.objectContaining({ code: "ENOENT", path: "/missing.txt", message: "ENOENT: /missing.txt does not exist" }),
      );
      expect(() => agent.list("/file")).toThrow(expect.objectContaining({ code: "ENOTDIR", path: "/file" }));
    });
  });
});
