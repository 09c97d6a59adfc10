import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
    // Tests that spawn bin/rstn.js run the compiled code: build it first. Say once which tests
    // are skipped for want of a Debian tool.
    globalSetup: ["test/support/build.ts", "test/support/tools-notice.ts"],
    // tfjs backends are process-global; separate forks keep suites from sharing one.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
