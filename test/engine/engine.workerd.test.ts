import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe } from "vitest";
import { WorkspaceFs, type WorkspaceFsOptions } from "../../src/workspace-do/engine.ts";
import { durableObjectSql } from "../../src/workspace-do/sql-durable-object.ts";
import { engineSuite } from "./suite.ts";

describe("engine in a SQLite Durable Object", () => {
  engineSuite({
    async withStorage(body) {
      const stub = env.WORKSPACE.get(env.WORKSPACE.newUniqueId());
      await runInDurableObject(stub, async (_instance, state) => {
        await body((options?: WorkspaceFsOptions) => new WorkspaceFs(durableObjectSql(state.storage), options));
      });
    },
  });
});
