/** The sources on tmpfs the scenarios read: random data, archives, an npm project. */
import { randomBytes as cryptoRandomBytes, randomFillSync } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MiB } from "./options.ts";
import { run, sh } from "./processes.ts";

export function writeRandom(path: string, size: number): void {
  const buffer = Buffer.allocUnsafe(size);
  for (let offset = 0; offset < size; offset += 16 * MiB) randomFillSync(buffer, offset, Math.min(16 * MiB, size - offset));
  writeFileSync(path, buffer);
}

/** `files` small text files, distinct (no two chunks equal), in dirs of `perDir`, tarred. */
export async function makeArchive(src: string, name: string, files: number, perDir: number, minBytes: number, maxBytes: number): Promise<void> {
  const tree = join(src, `${name}-tree`);
  for (let i = 0; i < files; i++) {
    const dir = join(tree, `d${String(Math.floor(i / perDir)).padStart(2, "0")}`);
    if (i % perDir === 0) mkdirSync(dir, { recursive: true });
    const size = minBytes + Math.floor(Math.random() * (maxBytes - minBytes));
    writeFileSync(join(dir, `f${String(i % perDir).padStart(3, "0")}.txt`), `${i}\n${cryptoRandomBytes(size).toString("base64").slice(0, size)}\n`);
  }
  await run("tar", ["cf", join(src, `${name}.tar`), "-C", tree, "."]);
  rmSync(tree, { recursive: true, force: true });
}

export const NPM_DEPS = { "is-number": "7.0.0", kleur: "4.1.5", ms: "2.1.3" };

/** One online install into a cache of our own, so `npm ci --offline` can run in every target. */
export async function prepareNpm(src: string): Promise<string | undefined> {
  const project = join(src, "npm-project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "mount-bench", version: "1.0.0", private: true, dependencies: NPM_DEPS }, null, 2));
  try {
    // Lock entries need their tarball URLs (this machine's npmrc omits them) for an offline ci.
    await sh(
      project,
      `npm install --no-audit --no-fund --no-update-notifier --loglevel=error --omit-lockfile-registry-resolved=false --cache '${src}/npm-cache'`,
      {},
      60_000,
    );
    mkdirSync(join(src, "npm-check"));
    await sh(join(src, "npm-check"), `cp '${project}/package.json' '${project}/package-lock.json' . && ${NPM_CI}`);
    return undefined;
  } catch (error) {
    return `npm cache warm-up failed (${error instanceof Error ? error.message.replace(/\s+/g, " ").slice(0, 300) : String(error)})`;
  }
}
export const NPM_CI = `npm ci --offline --no-audit --no-fund --no-update-notifier --loglevel=error --cache "$SRC/npm-cache"`;
