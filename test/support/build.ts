/**
 * Vitest global setup: builds dist/ (scripts/build.ts) before any test runs, because the tests
 * that spawn `bin/rstn.js` exercise the bundled code, exactly what `npm install -g` ships.
 * esbuild bundles the CLI in a second or two.
 */
import { build } from "../../scripts/build.ts"

export default async function setup(): Promise<void> {
  try {
    await build()
  } catch (e) {
    throw new Error(`building dist/ for the CLI tests failed (npm run build):\n${e instanceof Error ? e.message : String(e)}`)
  }
}
