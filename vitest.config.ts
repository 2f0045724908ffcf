import { defineConfig } from "vitest/config";

// Workspace packages export their TypeScript source under the "source" condition, so tests
// run against src/ without a build; only e2e needs dist/ (it starts the real processes).
const pkg = (name: string, root: string, extra: Record<string, unknown> = {}) => ({
  extends: true as const,
  test: { name, root, include: ["test/**/*.test.ts"], ...extra },
});

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    reporters: ["default", "json"],
    outputFile: { json: "./reports/vitest.json" },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    projects: [
      pkg("contracts", "contracts"),
      pkg("messaging", "packages/messaging"),
      pkg("telemetry", "packages/telemetry"),
      pkg("testkit", "packages/testkit"),
      pkg("service-kit", "packages/service-kit"),
      pkg("ordering", "services/ordering"),
      pkg("allocation", "services/allocation"),
      pkg("warehouse", "services/warehouse"),
      pkg("cli", "tools/cli"),
      pkg("e2e", "e2e", { testTimeout: 120_000, hookTimeout: 180_000, fileParallelism: false }),
    ],
  },
});
