/**
 * Vitest global setup: compiles the sources to dist/ before any test runs, because the tests
 * that spawn `bin/rstn.js` exercise the compiled code, exactly what `npm install -g` ships.
 * `tsc -b` compares file hashes, so when nothing changed this takes under a second.
 */
import { execFileSync } from "node:child_process"
import { createRequire } from "node:module"
import * as path from "node:path"

export default function setup(): void {
  const root = path.resolve(import.meta.dirname, "../..")
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  try {
    execFileSync(process.execPath, [tsc, "-b", path.join(root, "tsconfig.build.json")], { cwd: root, encoding: "utf8", stdio: "pipe" })
  } catch (e) {
    const out = (e as { stdout?: string }).stdout ?? ""
    throw new Error(`building dist/ for the CLI tests failed (npm run build):\n${out}`)
  }
}
