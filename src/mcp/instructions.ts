/** What the server tells a model about itself at initialize (MCP `instructions`): a few lines on what the workspace is and which tool does what. */
export const INSTRUCTIONS = `This server is one workspace: a file tree kept by the server, shared with every sandbox that mounts it.
Paths are workspace paths (/src/app.ts); a relative path starts at the root.
Look around with tree, ls and find (names) and grep (contents); read and read_many to read; edit changes part of a file, write creates or replaces one, append adds at the end; move, copy, delete and mkdir as usual.
exec runs a shell command (tests, builds, git) in a sandbox that has the workspace mounted through wsd; it sees every edit made before it, and its changes are in the workspace when it returns. Without an attached wsd it runs in the workspace's own shell (bash with grep, sed, awk, find, jq and the like; no npm, git, compilers or network). A long command can run with background: true; exec_status follows it and exec_kill stops it.
Every change is recorded with who made it: history lists them, diff compares two points, checkpoint names the current state, restore goes back, and undo reverts exactly one tool call or command (each changing result names its revision and call id). fork copies the workspace into a new one.
Every file is also a resource, workspace:///<path>.`;
