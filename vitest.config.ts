import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: { name: "node", include: ["test/**/*.node.test.ts"], environment: "node", testTimeout: 60_000 },
      },
      {
        plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.jsonc" } })],
        test: { name: "workerd", include: ["test/**/*.workerd.test.ts"], testTimeout: 60_000 },
      },
    ],
  },
});
