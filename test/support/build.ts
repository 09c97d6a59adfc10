/**
 * Vitest global setup: builds dist/ (`npm run build`: the compiled sources and the files they
 * load beside them, such as the wasm pthread worker script) before any test runs, because the
 * tests that spawn `bin/rstn.js` exercise the compiled code, exactly what `npm install -g` ships.
 * `tsc -b` compares file hashes, so when nothing changed this takes about a second.
 */
import { execFileSync } from "node:child_process"
import * as path from "node:path"

export default function setup(): void {
  const root = path.resolve(import.meta.dirname, "../..")
  try {
    execFileSync("npm", ["run", "-s", "build"], { cwd: root, encoding: "utf8", stdio: "pipe" })
  } catch (e) {
    const out = (e as { stdout?: string }).stdout ?? ""
    throw new Error(`building dist/ for the CLI tests failed (npm run build):\n${out}`)
  }
}
