/**
 * Runs a fixture (fixtures/*-threads.ts) on wasm with `threads` threads in a process of its own,
 * which must exit by itself (a pool that kept it alive would time out), and decodes the float32
 * results it prints: how the kernel tests compare thread counts bit for bit.
 */
import { spawnSync } from "node:child_process"
import { expect } from "vitest"

interface ChildResult {
  readonly threads: number
  readonly results: ReadonlyArray<string>
}

export const resultsInChild = (fixture: URL, threads: number): ReadonlyArray<Float32Array> => {
  const r = spawnSync(process.execPath, ["--import", "tsx", fixture.pathname, String(threads)], { encoding: "utf8", timeout: 60_000, maxBuffer: 1 << 26 })
  expect(r.signal, r.stderr).toBeNull() // a timeout would kill it with SIGTERM
  expect(r.status, r.stderr).toBe(0)
  const out = JSON.parse(r.stdout) as ChildResult
  expect(out.threads).toBe(threads)
  return out.results.map((b) => {
    const bytes = Buffer.from(b, "base64")
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
  })
}
