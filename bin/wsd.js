#!/usr/bin/env node
// wsd: mounts a workspace with FUSE and keeps it in sync (src/wsd/cli.ts). Needs Node >= 22.12,
// which runs the TypeScript sources directly.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(`wsd: needs Node.js 22.12 or newer (this is ${process.versions.node}); run it through npx or npm scripts in this package`);
  process.exit(1);
}
// node:sqlite is still flagged experimental; say nothing about that, everything else as usual.
process.removeAllListeners("warning");
process.on("warning", (warning) => warning.name === "ExperimentalWarning" || console.warn(warning));
const { main } = await import("../src/wsd/cli.ts");
process.exitCode = await main(process.argv.slice(2));
