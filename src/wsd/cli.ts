import { mkdirSync, renameSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { VERSION } from "../version.ts";
import { WorkspaceFs } from "../workspace-do/engine.ts";
import { isFsError } from "../workspace-do/errors.ts";
import { openNodeSql } from "../workspace-do/sql-node.ts";
import { MountCommands } from "./commands.ts";
import { unmount } from "./fuse-binding.ts";
import { ATTRIBUTE_CACHE_SECONDS, type MountedWorkspace, mountWorkspace } from "./mount.ts";
import { PENDING_COUNTED, StatusFile, statusLines } from "./status.ts";
import { SyncClient } from "./sync-client.ts";

const USAGE = `usage:
  wsd mount <workspace-url> <mountpoint> [--token T] [--cache DIR] [--name NAME] [--no-exec]
            [--read-only] [--attr-timeout SECONDS] [--verbose]
  wsd unmount <mountpoint>
  wsd status
  wsd --version

<workspace-url> is http(s)://host/w/<workspace>. The token may also come from WSD_TOKEN.
The replica lives in --cache (default: $XDG_CACHE_HOME/wsd/<host>-<workspace>).
The workspace's exec tool runs commands in the mount through this wsd, chosen by --name
(default: the host name); --no-exec refuses them. --attr-timeout (default ${ATTRIBUTE_CACHE_SECONDS}) is how
long the kernel may show a file's old size and times after sync changed it.`;

/**
 * Housekeeping waits until the mount has been quiet this long: the replica deletes the content
 * nothing references any more ({@link GARBAGE_PER_SLICE} chunks at a time, so a FUSE request
 * waits at most one slice) and copies its WAL into the database. The WAL is also copied once it
 * holds {@link WAL_PAGES_BEFORE_CHECKPOINT} pages (256 MiB). So a burst of writes is written
 * once, not twice, and an overwrite does not also pay for deleting what it replaced.
 */
const IDLE_MS = 2000;
/**
 * A file still being written (a run committed at 4 MiB, not on close) is pushed on its close,
 * or at the latest this long after, so a file kept open for writing still syncs.
 */
const OPEN_WRITE_PUSH_MS = 1000;
const GARBAGE_PER_SLICE = 32;
const WAL_PAGES_BEFORE_CHECKPOINT = 65_536;

/** Reconnect delays after the session breaks: doubling from 0.5 s up to 30 s. */
const BACKOFF_MS = { first: 500, max: 30_000 };

const log = (line: string) => console.log(`wsd: ${line}`);

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      token: { type: "string" },
      cache: { type: "string" },
      "read-only": { type: "boolean" },
      name: { type: "string" },
      "no-exec": { type: "boolean" },
      "attr-timeout": { type: "string" },
      verbose: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean" },
    },
  });
  if (values.version) {
    console.log(VERSION);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  switch (command) {
    case "mount": {
      if (rest.length !== 2) break;
      const attributeCacheSeconds = Number(values["attr-timeout"] ?? ATTRIBUTE_CACHE_SECONDS);
      if (!(attributeCacheSeconds >= 0 && attributeCacheSeconds <= 60)) {
        console.error(`wsd: --attr-timeout ${values["attr-timeout"]} is not a number of seconds from 0 to 60`);
        return 2;
      }
      return mount(rest[0]!, rest[1]!, {
        token: values.token ?? process.env.WSD_TOKEN,
        cache: values.cache,
        name: values.name ?? hostname(),
        exec: !values["no-exec"],
        readOnly: values["read-only"],
        attributeCacheSeconds,
        verbose: values.verbose,
      });
    }
    case "unmount":
      if (rest.length !== 1) break;
      await unmount(resolve(rest[0]!));
      log(`unmounted ${resolve(rest[0]!)}`);
      return 0;
    case "status":
      for (const line of await statusLines()) console.log(line);
      return 0;
  }
  console.error(USAGE);
  return 2;
}

interface MountFlags {
  token?: string;
  cache?: string;
  name: string;
  exec: boolean;
  attributeCacheSeconds: number;
  readOnly?: boolean;
  verbose?: boolean;
}

/** Mounts the workspace and keeps it in sync until SIGINT or SIGTERM. */
async function mount(workspaceUrl: string, mountpoint: string, flags: MountFlags): Promise<number> {
  const url = new URL(workspaceUrl);
  const name = /^\/w\/([^/]+)\/?$/.exec(url.pathname)?.[1];
  if (!name || !/^https?:$/.test(url.protocol)) {
    console.error(`wsd: ${workspaceUrl} is not a workspace URL; give http(s)://host/w/<workspace>`);
    return 2;
  }
  const base = `${url.origin}/w/${name}`;
  const cache = resolve(flags.cache ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "wsd", `${url.host.replace(/[^\w.-]/g, "_")}-${name}`));
  mkdirSync(cache, { recursive: true });
  let mounted: MountedWorkspace | undefined;
  let client: SyncClient | undefined;
  // Every committed local change (a closed file, a mkdir, an rm…) goes out at once; pushes
  // coalesce, and what sync applies is not recorded, so nothing echoes back.
  let pushRetry: ReturnType<typeof setTimeout> | undefined;
  let pushBackoff = BACKOFF_MS.first;
  /** Pushes now; a failed push is retried with backoff (and on reconnect), never dropped. */
  const push = (): void => {
    void client?.push().then(
      () => {
        pushBackoff = BACKOFF_MS.first;
        status?.update({});
      },
      (error) => {
        log(`push failed (${error instanceof Error ? error.message : String(error)}); retrying in ${pushBackoff / 1000} s`);
        pushRetry ??= setTimeout(() => {
          pushRetry = undefined;
          push();
        }, pushBackoff);
        pushBackoff = Math.min(pushBackoff * 2, BACKOFF_MS.max);
      },
    );
  };
  const openDatabase = () => openNodeSql(join(cache, "replica.db"), { walAutocheckpointPages: WAL_PAGES_BEFORE_CHECKPOINT });
  let database = openDatabase();
  let housekeeping: ReturnType<typeof setTimeout> | undefined;
  const tidy = () => {
    if (replica.collectGarbage(GARBAGE_PER_SLICE) === GARBAGE_PER_SLICE) {
      housekeeping = setTimeout(tidy, 0);
      return;
    }
    database.checkpoint();
  };
  /** (Re)starts the quiet period after which the replica tidies up. */
  const tidyWhenIdle = () => {
    clearTimeout(housekeeping);
    housekeeping = setTimeout(tidy, IDLE_MS);
  };
  let latePush: ReturnType<typeof setTimeout> | undefined;
  let status: StatusFile | undefined;
  let conflicts = 0;
  const openReplica = () =>
    new WorkspaceFs(database, {
      deferChunkFrees: true,
      onChange: () => {
        tidyWhenIdle();
        status?.update({});
        // Pushing while a large file streams in would compete with FUSE for this one thread.
        if (mounted?.adapter.committingMidRun) {
          latePush ??= setTimeout(() => {
            latePush = undefined;
            push();
          }, OPEN_WRITE_PUSH_MS);
          return;
        }
        clearTimeout(latePush);
        latePush = undefined;
        push();
      },
    });
  let replica = openReplica();
  const commands = new MountCommands({
    replica: () => replica,
    mountpoint: () => mounted?.mountpoint,
    settle: () => mounted?.adapter.settle(),
    attributesCachedUntil: (path) => mounted?.adapter.attributesCachedUntil(path) ?? 0,
    log: flags.verbose ? log : undefined,
  });
  let stopping = false;
  let backoff = BACKOFF_MS.first;
  let reconnecting: Promise<void> | undefined;
  /** One reconnect loop at a time, however many sessions report breaking. */
  const reconnect = () => (reconnecting ??= connect().finally(() => (reconnecting = undefined)));

  const connect = async (): Promise<void> => {
    while (!stopping) {
      try {
        const cursor = replica.cursor("pulled");
        let session: SyncClient | undefined;
        session = client = await SyncClient.connect({
          url: base,
          token: flags.token,
          replica,
          info: { name: flags.name, exec: flags.exec, mountpoint: resolve(mountpoint) },
          commands: flags.exec ? commands : undefined,
          beforeApply: () => mounted?.adapter.settle(),
          onPulled: (rev, paths) => {
            commands.pulled(paths);
            tidyWhenIdle();
            status?.update({ rev });
            if (flags.verbose) log(`pulled rev ${rev}: ${paths.join(", ")}`);
          },
          onConflict: (found) => {
            status?.update({ conflicts: (conflicts += found.length) });
            for (const { path, keptAs } of found)
              log(`conflict: ${path} changed on both sides; the workspace's version stays${keptAs ? `, this sandbox's is kept as ${keptAs}` : ""}`);
          },
          onBroken: (error) => {
            if (stopping || session === undefined || client !== session) return;
            log(`disconnected: ${error instanceof Error ? error.message : String(error)}; serving the replica, reconnecting`);
            client = undefined;
            commands.killAll();
            status?.update({ state: "reconnecting" });
            void reconnect();
          },
        });
        await client.push();
        log(
          `${cursor === 0 ? "connected to" : "resumed"} ${base} at rev ${client.cursor} (${client.chunksReceived} chunks fetched, ${client.chunksSent} sent)`,
        );
        status?.update({ state: "connected", rev: client.cursor });
        backoff = BACKOFF_MS.first;
        return;
      } catch (error) {
        if (mounted === undefined) throw error;
        log(`cannot reach ${base} (${error instanceof Error ? error.message : String(error)}); retrying in ${backoff / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, BACKOFF_MS.max);
      }
    }
  };

  try {
    try {
      await connect();
    } catch (error) {
      if (!isFsError(error, "ESTALE")) throw error;
      // The workspace was reset: keep the old replica aside (nothing lost) and start empty.
      const aside = join(cache, `replica.db.orphaned-${Date.now()}`);
      database.close();
      renameSync(join(cache, "replica.db"), aside);
      log(`${error.message}; the old replica is kept as ${aside}`);
      database = openDatabase();
      replica = openReplica();
      await connect();
    }
  } catch (error) {
    console.error(`wsd: cannot connect to ${base}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  mounted = await mountWorkspace(replica, resolve(mountpoint), {
    readOnly: flags.readOnly,
    attributeCacheSeconds: flags.attributeCacheSeconds,
    trace: flags.verbose ? (line) => log(line) : undefined,
  });
  log(`mounted ${base} at ${mounted.mountpoint} (replica in ${cache})`);
  status = new StatusFile(
    {
      url: base,
      mountpoint: mounted.mountpoint,
      cache,
      name: flags.name,
      exec: flags.exec,
      state: client ? "connected" : "reconnecting",
      rev: replica.cursor("pulled"),
      conflicts,
    },
    () => replica.changesSince(replica.cursor("pushed"), { limit: PENDING_COUNTED }).entries.length,
  );

  await new Promise<void>((done) => {
    const stop = () => {
      if (stopping) return;
      stopping = true;
      done();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  commands.killAll();
  await mounted.unmount();
  clearTimeout(pushRetry);
  clearTimeout(housekeeping);
  clearTimeout(latePush);
  // A last push, but a server that stopped answering must not keep wsd from exiting.
  await Promise.race([client?.push().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  client?.close();
  status.remove();
  log(`unmounted ${mounted.mountpoint}`);
  return 0;
}
