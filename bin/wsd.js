#!/usr/bin/env node
// wsd: mounts a workspace with FUSE and keeps it in sync. Needs Node >= 22.12. Installed from the
// package it runs the built JavaScript (dist/); in a checkout of the repository, the TypeScript
// sources (src/), which Node runs directly, so a change needs no build.
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
