/**
 * `npm run deploy` refuses to deploy what it cannot prove closed: without credentials it cannot
 * read the Worker's secrets, so it stops with one sentence before uploading anything. (Deploying
 * for real needs a Cloudflare account, which these machines cannot reach.)
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");

describe("npm run deploy", () => {
  it("without a way to check the Worker's secrets, refuses in one sentence and deploys nothing", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CI: "true" };
    delete env.CLOUDFLARE_API_TOKEN;
    const failed = await promisify(execFile)("npm", ["run", "--silent", "deploy"], { cwd: root, env }).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    const lines = `${failed?.stdout}${failed?.stderr}`.trim().split("\n");
    expect(lines).toEqual([expect.stringMatching(/^deploy: not deploying, because the Worker's secrets could not be checked: .*CLOUDFLARE_API_TOKEN/)]);
  }, 60_000);
});
