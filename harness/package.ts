import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");

/**
 * Packs this repository as npm would publish it (`npm pack`, which builds dist/ first) and
 * installs the tarball into a new project in `dir`, as a user would: `npm install <tarball>`,
 * taking packages from the local npm cache where it has them. Answers the project's folder.
 */
export async function installPackedPackage(dir: string): Promise<{ project: string; tarball: string }> {
  const packed = join(dir, "packed");
  mkdirSync(packed, { recursive: true });
  await run("npm", ["pack", "--pack-destination", packed], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  const tarball = join(packed, readdirSync(packed).find((name) => name.endsWith(".tgz"))!);
  const project = join(dir, "project");
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], { cwd: project, maxBuffer: 16 * 1024 * 1024 });
  return { project, tarball };
}
