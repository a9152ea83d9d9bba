#!/bin/sh
// 2>/dev/null; exec /usr/bin/env MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" node --max-semi-space-size=4 "$0" "$@"
// wsd: mounts a workspace with FUSE and keeps it in sync. Needs Node >= 22.12. Installed from the
// package it runs the built JavaScript (dist/); in a checkout of the repository, the TypeScript
// sources (src/), which Node runs directly, so a change needs no build.
//
// Run as a program, the file is a shell script first (the line above: to sh, `//` is a directory
// it cannot run, then `exec`; to Node both lines are comments) that starts Node with the
// daemon's memory settings, which cannot be set once Node runs: a 4 MiB young generation
// (V8's default is 16: dead ArrayBuffers of uploads waited longer for a scavenge) and two malloc
// arenas (glibc makes one per thread that allocates: FUSE's and libuv's). Measured on a copy of
// 33,000 files into the mount: peak RSS 297 MiB without either, 281 MiB with both
// (bench/README.md). `node bin/wsd.js` runs it without them.
import { existsSync } from "node:fs";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(`wsd: needs Node.js 22.12 or newer; this is ${process.versions.node}`);
  process.exit(1);
}
// node:sqlite is still flagged experimental; say nothing about that, everything else as usual.
process.removeAllListeners("warning");
process.on("warning", (warning) => warning.name === "ExperimentalWarning" || console.warn(warning));
const source = new URL("../src/wsd/cli.ts", import.meta.url);
const { main } = await import(existsSync(source) ? source.href : "../dist/wsd/cli.js");
process.exitCode = await main(process.argv.slice(2));
