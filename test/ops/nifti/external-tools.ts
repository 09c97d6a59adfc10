/**
 * Helpers of the interop tests, which check our files against independent NIfTI
 * implementations (nibabel, nifti_tool; see test/support/external-tool.ts).
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { NIBABEL, NIFTI_TOOL, requireTool } from "../../support/external-tool.ts"

export { NIBABEL, NIFTI_TOOL, PYTHON } from "../../support/external-tool.ts"
export const HERE = path.dirname(fileURLToPath(import.meta.url))

export const requireNibabel = (): void => requireTool(NIBABEL)
export const requireNiftiTool = (): void => requireTool(NIFTI_TOOL)

/** Runs a command, failing the test with its output when it fails. */
export const run = (command: string, args: ReadonlyArray<string>): string => {
  const r = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 << 20 })
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`)
  }
  return r.stdout
}

/** A float64 little-endian dump written by the Python scripts. */
export const readF64 = (file: string): Float64Array => {
  const b = fs.readFileSync(file)
  const out = new Float64Array(b.length / 8)
  for (let i = 0; i < out.length; i++) out[i] = b.readDoubleLE(8 * i)
  return out
}

/** |a - b| <= tol * max(1, |b|) for each of 16 numbers (a row-major, b as nested rows). */
export const expectAffineClose = (a: ReadonlyArray<number>, b: ReadonlyArray<ReadonlyArray<number>>, tol: number, what: string): void => {
  const flat = b.flat()
  const bad = flat.findIndex((x, i) => !(Math.abs(a[i]! - x) <= tol * Math.max(1, Math.abs(x))))
  if (bad >= 0) throw new Error(`${what}: affine differs at [${Math.floor(bad / 4)}][${bad % 4}]: ${a[bad]} vs ${flat[bad]}\nours ${a.join(", ")}\ntheirs ${flat.join(", ")}`)
}
