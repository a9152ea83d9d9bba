import type { WorkspaceFs, WorkspaceFsOptions } from "../../src/workspace-do/engine.ts";
import { describeChangeLog } from "./suite/change-log.ts";
import { describeContent } from "./suite/content.ts";
import { describeContentIndex } from "./suite/content-index.ts";
import { describeDirectories } from "./suite/directories.ts";
import type { EngineHost } from "./suite/helpers.ts";
import { describeHistory } from "./suite/history.ts";
import { describeLinks } from "./suite/links.ts";
import { describeMetadata } from "./suite/metadata.ts";
import { describeParents } from "./suite/parents.ts";
import { describePaths } from "./suite/paths.ts";
import { describeRenameAndCopy } from "./suite/rename-copy.ts";
import { describeSearch } from "./suite/search.ts";
import { describeSpecialFiles } from "./suite/special-files.ts";

export type { EngineHost } from "./suite/helpers.ts";

/**
 * Registers the whole engine suite on `host`, area by area in this order. Each area's tests live
 * in `suite/<area>.ts`; the shared assertions and fixtures in `suite/helpers.ts`.
 */
export function engineSuite(host: EngineHost): void {
  const run = (body: (fs: WorkspaceFs) => void | Promise<void>, options?: WorkspaceFsOptions) => host.withStorage((open) => body(open(options)));
  const suite = { host, run };

  describePaths(suite);
  describeContent(suite);
  describeDirectories(suite);
  describeRenameAndCopy(suite);
  describeLinks(suite);
  describeParents(suite);
  describeMetadata(suite);
  describeSpecialFiles(suite);
  describeSearch(suite);
  describeContentIndex(suite);
  describeChangeLog(suite);
  describeHistory(suite);
}
