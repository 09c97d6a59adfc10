/**
 * Vitest global setup: prints, once per test run, which tests are skipped because a tool from
 * outside npm is missing here and which Debian packages provide it (the test files skip
 * silently; see external-tool.ts).
 */
import { missingToolsNotice } from "./external-tool.ts"

export default function setup(): void {
  const notice = missingToolsNotice()
  if (notice !== null) console.warn(notice)
}
