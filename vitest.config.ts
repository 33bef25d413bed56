import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "components/*/test/**/*.test.ts", "host/test/**/*.test.ts", "scripts/test/**/*.test.ts", "tests/**/*.test.ts"],
    // End-to-end tests start real wasmtime and Node processes; give them room on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Kills what a test left running at the end of the run (tests/helpers/global-setup.ts).
    globalSetup: ["tests/helpers/global-setup.ts"],
    maxWorkers: 2,
  },
});
