import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
    // tfjs backends are process-global; separate forks keep suites from sharing one.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
