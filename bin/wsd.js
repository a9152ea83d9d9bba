#!/usr/bin/env node
// wsd, the sandbox daemon that mounts a workspace with FUSE, is not built yet (see README).
console.error("wsd: not available yet; this build has the workspace engine and server only. See README.md.");
process.exit(1);
