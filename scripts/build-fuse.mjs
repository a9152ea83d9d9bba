#!/usr/bin/env node
import { execFileSync, spawnSync } from "node:child_process";
/**
 * Builds the patched fuse-native: package.json "postinstall", or `node scripts/build-fuse.mjs
 * [--force]`. Plain .mjs so it runs on whatever Node npm uses (20 or 22).
 *
 * 1. Takes the pristine fuse-native@2.2.6 sources (saved once as *.wsd-orig beside them, so a
 *    re-run never patches a patched file), applies patches/fuse-native+2.2.6.patch strictly
 *    (exact context at the exact line, no fuzz) and fails loudly if it does not apply.
 * 2. Rebuilds build/Release/fuse.node with node-gyp (npm's own) against libfuse 2.9's headers
 *    from fuse-shared-library-linux. Node's headers come from npm's `nodedir` config, else from
 *    the first of <node>/include/node, /usr, /usr/local that has them: nothing is downloaded.
 * 3. Loads the result (libfuse.so.2 preloaded as src/wsd/fuse-binding.ts does), checks the
 *    patch level and writes build/wsd-patch.json; later runs skip the build while the patched
 *    sources and fuse.node are unchanged.
 * Off Linux it does nothing; WSD_SKIP_FUSE_BUILD=1 skips it (no FUSE daemon will work then).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const VERSION = "2.2.6";
const PATCH_LEVEL = 4; // wsd_patch_level in the patch; src/wsd/fuse-binding.ts checks it too
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const patchFile = path.join(root, "patches", `fuse-native+${VERSION}.patch`);
const started = Date.now();
const log = (msg) => console.log(`build-fuse: ${msg}`);

function fail(msg) {
  console.error(`\nbuild-fuse: ERROR: ${msg}\nbuild-fuse: (the workspace FUSE daemon needs this; WSD_SKIP_FUSE_BUILD=1 installs without it)\n`);
  process.exit(1);
}

if (process.env.WSD_SKIP_FUSE_BUILD) {
  log("skipped (WSD_SKIP_FUSE_BUILD)");
  process.exit(0);
}
if (process.platform !== "linux") {
  log(`skipped on ${process.platform} (Linux only)`);
  process.exit(0);
}

const req = createRequire(path.join(root, "package.json"));
let dir = "";
try {
  dir = path.dirname(req.resolve("fuse-native/package.json"));
} catch {
  fail("fuse-native is not installed (run npm install)");
}
const { version } = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
if (version !== VERSION) fail(`fuse-native is ${version}, the patch is for ${VERSION}: update patches/ and this script`);

// --- strict unified diff ---------------------------------------------------------------------

function parsePatch(text) {
  const files = [];
  const lines = text.split("\n");
  let file = null;
  let hunk = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith("--- ") && lines[i + 1]?.startsWith("+++ ")) {
      file = { name: lines[i + 1].slice(4).trim().replace(/^b\//, ""), hunks: [] };
      files.push(file);
      hunk = null;
      i++;
    } else if (file && line.startsWith("@@")) {
      const m = /^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@/.exec(line);
      if (!m) fail(`bad hunk header in ${patchFile}: ${line}`);
      hunk = { at: Number(m[1]), old: [], new: [] };
      file.hunks.push(hunk);
    } else if (hunk && (line[0] === " " || line[0] === "-" || line[0] === "+")) {
      if (line[0] !== "+") hunk.old.push(line.slice(1));
      if (line[0] !== "-") hunk.new.push(line.slice(1));
    } else if (hunk && line.startsWith("\\")) {
      fail(`${patchFile}: "\\ No newline at end of file" is not supported`);
    } else {
      hunk = null; // the text before the first file is a description
    }
  }
  if (!files.length) fail(`no file sections in ${patchFile}`);
  return files;
}

function applyHunks(name, text, hunks) {
  const lines = text.split("\n");
  let delta = 0;
  for (const [n, h] of hunks.entries()) {
    const start = h.at - 1 + delta + (h.old.length ? 0 : 1); // "-l,0" inserts after line l
    if (!h.old.every((l, k) => lines[start + k] === l)) {
      fail(
        `patch does not apply to fuse-native/${name}: hunk ${n + 1} (line ${h.at}) does not match.\n` +
          `  fuse-native's source is not the one the patch was written for: rebase ${path.relative(root, patchFile)}`,
      );
    }
    lines.splice(start, h.old.length, ...h.new);
    delta += h.new.length - h.old.length;
  }
  return lines.join("\n");
}

// --- patch the sources -----------------------------------------------------------------------

const patched = parsePatch(fs.readFileSync(patchFile, "utf8")).map((f) => {
  const target = path.join(dir, f.name);
  const orig = `${target}.wsd-orig`;
  const pristine = fs.readFileSync(fs.existsSync(orig) ? orig : target, "utf8");
  if (pristine.includes("WSD-PATCH")) {
    fail(`fuse-native/${f.name} is patched and its pristine copy is gone: rm -rf node_modules/fuse-native && npm install`);
  }
  return { target, orig, pristine, text: applyHunks(f.name, pristine, f.hunks) };
});

const binary = path.join(dir, "build", "Release", "fuse.node");
const stampFile = path.join(dir, "build", "wsd-patch.json");
const hash = createHash("sha256")
  .update(`${patched.map((p) => p.text).join("\0")}\0level=${PATCH_LEVEL}`)
  .digest("hex");
const statOf = (file) => {
  try {
    const s = fs.statSync(file);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return null;
  }
};
const upToDate = () => {
  try {
    const stamp = JSON.parse(fs.readFileSync(stampFile, "utf8"));
    return stamp.hash === hash && stamp.binary === statOf(binary) && patched.every((p) => fs.readFileSync(p.target, "utf8") === p.text);
  } catch {
    return false;
  }
};

if (!process.argv.includes("--force") && upToDate()) {
  log(`fuse-native ${VERSION} is patched and built (${path.relative(root, binary)})`);
  process.exit(0);
}

for (const p of patched) {
  if (!fs.existsSync(p.orig)) fs.writeFileSync(p.orig, p.pristine);
  if (fs.readFileSync(p.target, "utf8") !== p.text) fs.writeFileSync(p.target, p.text);
}

// --- build -----------------------------------------------------------------------------------

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) {
    // npm-cli.js of the npm running this script: its bundled node-gyp
    candidates.push(path.join(path.dirname(process.env.npm_execpath), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  }
  try {
    candidates.push(req.resolve("node-gyp/bin/node-gyp.js"));
  } catch {}
  const found = candidates.find((c) => fs.existsSync(c));
  if (found) return found;
  try {
    // npm's install dir, e.g. /usr/lib/node_modules/npm/node_modules/node-gyp
    const global = execFileSync("npm", ["root", "-g"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const candidate = path.join(global, "npm", "node_modules", "node-gyp", "bin", "node-gyp.js");
    if (fs.existsSync(candidate)) return candidate;
  } catch {}
  return null;
}

function findNodeDir() {
  if (process.env.npm_config_nodedir) return null; // node-gyp reads it from the environment
  const dirs = [path.resolve(process.execPath, "..", ".."), "/usr", "/usr/local"];
  return dirs.find((d) => fs.existsSync(path.join(d, "include", "node", "node_api.h"))) ?? null;
}

const gyp = findNodeGyp();
if (!gyp) fail("node-gyp not found (looked for npm's bundled copy, in node_modules and under `npm root -g`)");
const nodedir = findNodeDir();
const args = [gyp, "rebuild", ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const res = spawnSync(process.execPath, args, { cwd: dir, encoding: "utf8", timeout: 180_000 });
if (res.status !== 0) {
  process.stderr.write(res.stdout ?? "");
  process.stderr.write(res.stderr ?? "");
  fail(`node-gyp rebuild failed in ${dir} (${res.error ? res.error.message : `exit ${res.status}`}); it needs python3, make and a C compiler`);
}

// --- check that the binary loads and is ours -------------------------------------------------

const { RTLD_NOW, RTLD_GLOBAL } = os.constants.dlopen;
const RTLD_NODELETE = 0x1000; // glibc: keeps libfuse mapped after process.dlopen rejects it
function preload(lib) {
  try {
    process.dlopen({ exports: {} }, lib, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
  } catch (err) {
    return String(err).includes("did not self-register"); // loaded; not an addon, as expected
  }
  return true;
}
const bundled = path.join(path.dirname(req.resolve("fuse-shared-library-linux/package.json")), "libfuse", "lib", "libfuse.so");
if (!preload("libfuse.so.2") && !preload(bundled)) fail(`cannot load libfuse (tried libfuse.so.2 and ${bundled})`);
const mod = { exports: {} };
try {
  process.dlopen(mod, binary);
} catch (err) {
  fail(`the built ${binary} does not load: ${err.message}`);
}
if (mod.exports.wsd_patch_level !== PATCH_LEVEL || typeof mod.exports.fuse_native_context !== "function") {
  fail(`the built ${binary} is not patched (wsd_patch_level=${mod.exports.wsd_patch_level})`);
}

fs.writeFileSync(stampFile, `${JSON.stringify({ version: VERSION, level: PATCH_LEVEL, hash, binary: statOf(binary) })}\n`);
log(`built patched fuse-native ${VERSION} (level ${PATCH_LEVEL}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
