import { DurableObject } from "cloudflare:workers";
import { WorkspaceFs } from "../workspace-do/engine.ts";
import { durableObjectSql } from "../workspace-do/sql-durable-object.ts";

/**
 * One workspace: a Durable Object whose SQLite storage holds the file tree. The engine runs
 * synchronously inside the object, so every operation is atomic and ordered.
 */
export class WorkspaceAgent extends DurableObject<Env> {
  #fs: WorkspaceFs | undefined;

  /** The workspace's engine, opened (and its tables created) on first use. */
  get fs(): WorkspaceFs {
    return (this.#fs ??= new WorkspaceFs(durableObjectSql(this.ctx.storage)));
  }
}
