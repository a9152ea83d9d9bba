import { hostname } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { VERSION } from "../version.ts";
import { WsdDaemon } from "./daemon.ts";
import { ATTRIBUTE_CACHE_SECONDS } from "./mount.ts";
import { statusLines } from "./status.ts";
import { unmountCommand } from "./unmount-command.ts";

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

const log = (line: string) => console.log(`wsd: ${line}`);

/** wsd's command line: parses the arguments, runs the command, answers the exit code. */
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
      let daemon: WsdDaemon;
      try {
        daemon = new WsdDaemon({
          url: rest[0]!,
          mountpoint: rest[1]!,
          token: values.token ?? process.env.WSD_TOKEN,
          cache: values.cache,
          name: values.name ?? hostname(),
          exec: !values["no-exec"],
          readOnly: values["read-only"],
          attributeCacheSeconds,
          verbose: values.verbose,
          log,
        });
      } catch (error) {
        console.error(`wsd: ${messageOf(error)}`);
        return 2;
      }
      return runUntilSignalled(daemon);
    }
    case "unmount":
      if (rest.length !== 1) break;
      return unmountCommand(resolve(rest[0]!), log);
    case "status":
      for (const line of await statusLines()) console.log(line);
      return 0;
  }
  console.error(USAGE);
  return 2;
}

/** Mounts and keeps the workspace in sync until SIGINT or SIGTERM, then stops cleanly. */
async function runUntilSignalled(daemon: WsdDaemon): Promise<number> {
  try {
    await daemon.start();
  } catch (error) {
    console.error(`wsd: cannot connect to ${daemon.url}: ${messageOf(error)}`);
    await daemon.stop();
    return 1;
  }
  const signalled = new Promise<void>((stop) => {
    process.once("SIGINT", () => stop());
    process.once("SIGTERM", () => stop());
  });
  // The daemon also ends by itself when its mount is taken away from outside.
  await Promise.race([signalled, daemon.ended]);
  await daemon.stop();
  return 0;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
