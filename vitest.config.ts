import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: { name: "node", include: ["test/**/*.node.test.ts"], environment: "node", testTimeout: 60_000 },
      },
      {
        // Open, as `npm start` runs the server locally: the deployed configuration has no such variable.
        plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.jsonc" }, miniflare: { bindings: { WORKSPACE_OPEN: "1" } } })],
        test: { name: "workerd", include: ["test/**/*.workerd.test.ts"], testTimeout: 60_000 },
      },
    ],
  },
});
