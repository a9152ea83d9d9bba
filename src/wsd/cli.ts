import { hostname } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { VERSION } from "../version.ts";
import { messageOf } from "../workspace-do/errors.ts";
import { parseWorkspaceUrl, WsdDaemon } from "./daemon.ts";
import { ATTRIBUTE_CACHE_SECONDS } from "./mount.ts";
import { StartError, type StartFailure } from "./preflight.ts";
import { runWithVfs } from "./run-command.ts";
import { statusLines } from "./status.ts";
import { unmountCommand } from "./unmount-command.ts";

/** `wsd mount`'s exit codes, one per way it can fail to start. */
const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3, access: 4, rejected: 5, mountpoint: 6, fuse: 7, busy: 8 } satisfies Record<
  "ok" | "failed" | StartFailure,
  number
>;

const USAGE = `usage:
  wsd mount <workspace-url> <mountpoint> [--token T] [--cache DIR] [--name NAME] [--no-exec]
            [--exec-user USER] [--read-only] [--attr-timeout SECONDS] [--local GLOB]... [--prefetch]
            [--cache-max SIZE] [--verbose]
  wsd run --vfs <workspace-url> [--token T] [--cache DIR] [--mount-point DIR] [--verbose] -- node <program> [args]
                               run a Node program with the workspace mounted in it (no FUSE)
  wsd unmount <mountpoint>     stop the mount's wsd (it pushes first), or clear a dead mount
  wsd status
  wsd --version

<workspace-url> is http(s)://host/w/<workspace>. The token may also come from WSD_TOKEN.
The replica lives in --cache (default: $XDG_CACHE_HOME/wsd/<host>-<workspace>). A missing
mountpoint is created; it must be empty. The workspace's exec tool runs commands in the mount
through this wsd, chosen by --name (default: the host name), as --exec-user (default: the
user wsd runs as); --no-exec refuses them.
--attr-timeout (default ${ATTRIBUTE_CACHE_SECONDS}) is how long the kernel keeps a file's size and times
(wsd drops them itself when sync changes the file). --local (gitignore syntax, e.g. node_modules/) keeps matching paths in this
replica only: never pushed, not seen through MCP; so does a /.wsdignore file in the workspace.
A file's content is fetched when it is first opened; --prefetch fetches everything before mounting
(to work offline later). --cache-max (bytes, or with K, M or G) drops content the workspace
already holds once the replica keeps more, when the mount is quiet.

wsd run --vfs mounts the workspace inside the program's Node process (Node's virtual file
system: node:fs, require and import see it under --mount-point, default /wsd/<workspace>), syncs
it live both ways and exits with the program's exit code.

exit codes: 0 done; 1 other failure; 2 bad command, flag or URL; 3 server unreachable; 4 token
refused (or the server is closed); 5 workspace refused by the server (a bad name); 6 mountpoint
not usable (not empty, not a directory); 7 no FUSE or no permission to mount; 8 already mounted.`;

const log = (line: string) => console.log(`wsd: ${line}`);

/** wsd's command line: parses the arguments, runs the command, answers the exit code. Never throws. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (error) {
    console.error(`wsd: ${messageOf(error)}`);
    return error instanceof StartError ? EXIT[error.reason] : EXIT.failed;
  }
}

async function run(argv: string[]): Promise<number> {
  // What follows `--` is the command `wsd run` runs, not wsd's to parse.
  const dash = argv.indexOf("--");
  const command = dash === -1 ? [] : argv.slice(dash + 1);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(dash === -1 ? argv : argv.slice(0, dash));
  } catch (error) {
    // parseArgs names the unknown flag or the missing value in its own sentence.
    return usageError(messageOf(error).replace(/\. To specify a positional argument.*$/s, ""));
  }
  const { values, positionals } = parsed;
  if (values.version) {
    console.log(VERSION);
    return EXIT.ok;
  }
  const [subcommand, ...rest] = positionals;
  if (values.help || !subcommand) {
    console.log(USAGE);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  switch (subcommand) {
    case "run": {
      if (!values.vfs) return usageError("wsd run needs --vfs <workspace-url> (the workspace mounted inside the program)");
      if (rest.length > 0 || command.length === 0) return usageError("wsd run takes the command after --, e.g. wsd run --vfs <url> -- node build.js");
      try {
        parseWorkspaceUrl(values.vfs);
      } catch (error) {
        return usageError(messageOf(error));
      }
      return runWithVfs(
        {
          url: values.vfs,
          token: values.token ?? process.env.WSD_TOKEN,
          cache: values.cache,
          mountPoint: values["mount-point"],
          verbose: values.verbose,
          command,
        },
        log,
      );
    }
    case "mount": {
      if (rest.length !== 2) return usageError("wsd mount takes a workspace URL and a mountpoint");
      const attributeCacheSeconds = Number(values["attr-timeout"] ?? ATTRIBUTE_CACHE_SECONDS);
      if (!(attributeCacheSeconds >= 0 && attributeCacheSeconds <= 60)) {
        return usageError(`--attr-timeout ${values["attr-timeout"]} is not a number of seconds from 0 to 60`);
      }
      const cacheMaxBytes = values["cache-max"] === undefined ? undefined : parseSize(values["cache-max"]);
      if (cacheMaxBytes !== undefined && !(cacheMaxBytes > 0)) return usageError(`--cache-max ${values["cache-max"]} is not a size such as 500M or 2G`);
      try {
        parseWorkspaceUrl(rest[0]!);
      } catch (error) {
        return usageError(messageOf(error));
      }
      return runUntilSignalled(
        new WsdDaemon({
          url: rest[0]!,
          mountpoint: rest[1]!,
          token: values.token ?? process.env.WSD_TOKEN,
          cache: values.cache,
          name: values.name ?? hostname(),
          exec: !values["no-exec"],
          execUser: values["exec-user"],
          readOnly: values["read-only"],
          attributeCacheSeconds,
          local: values.local,
          prefetch: values.prefetch,
          cacheMaxBytes,
          verbose: values.verbose,
          log,
        }),
      );
    }
    case "unmount":
      if (rest.length !== 1) return usageError("wsd unmount takes a mountpoint");
      return unmountCommand(resolve(rest[0]!), log);
    case "status":
      for (const line of await statusLines()) console.log(line);
      return EXIT.ok;
  }
  return usageError(`${subcommand} is not a wsd command`);
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      token: { type: "string" },
      vfs: { type: "string" },
      "mount-point": { type: "string" },
      cache: { type: "string" },
      "read-only": { type: "boolean" },
      name: { type: "string" },
      "no-exec": { type: "boolean" },
      "exec-user": { type: "string" },
      "attr-timeout": { type: "string" },
      local: { type: "string", multiple: true },
      prefetch: { type: "boolean" },
      "cache-max": { type: "string" },
      verbose: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean" },
    },
  });
}

/** `500M`, `2G`, `64K` or a number of bytes; NaN for anything else. */
function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMG]?)i?B?$/i.exec(text.trim());
  if (!match) return Number.NaN;
  const unit = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2]!.toUpperCase() as "" | "K" | "M" | "G"];
  return Math.floor(Number(match[1]) * unit);
}

const usageError = (sentence: string): number => {
  console.error(`wsd: ${sentence}; see wsd --help`);
  return EXIT.usage;
};

/** Mounts and keeps the workspace in sync until SIGINT or SIGTERM, or until the mount is taken away. */
async function runUntilSignalled(daemon: WsdDaemon): Promise<number> {
  // Listening before the start: a signal that comes while it finishes (after "mounted" is
  // printed) must stop the daemon the normal way, not kill it and leave a dead mount.
  const signalled = new Promise<void>((stop) => {
    process.once("SIGINT", () => stop());
    process.once("SIGTERM", () => stop());
  });
  try {
    await daemon.start();
  } catch (error) {
    await daemon.stop();
    throw error instanceof StartError ? error : new Error(`cannot connect to ${daemon.url}: ${messageOf(error)}`);
  }
  await Promise.race([signalled, daemon.ended]);
  await daemon.stop();
  return EXIT.ok;
}
