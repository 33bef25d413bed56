import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["components/*/test/**/*.test.ts", "packages/*/test/**/*.test.ts", "host/test/**/*.test.ts", "scripts/test/**/*.test.ts", "tests/**/*.test.ts"],
    // End-to-end tests start real wasmtime and Node processes; give them room on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
