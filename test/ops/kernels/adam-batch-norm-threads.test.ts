import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { setUpBackends } from "./compare.ts"
import { adamBatchNormResults, digest } from "./fixtures/adam-batch-norm-cases.ts"
import { resultsInChild } from "./thread-child.ts"

beforeAll(setUpBackends)

/** The first index where two float32 arrays (the results' digests) differ in their bits (-1: none). */
const firstDifference = (a: Float32Array, b: Float32Array | undefined): number => {
  if (b === undefined || a.length !== b.length) return 0
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length)
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length)
  return x.findIndex((v, i) => v !== y[i])
}

const inChild = (threads: number): ReadonlyArray<Float32Array> => resultsInChild(new URL("./fixtures/adam-batch-norm-threads.ts", import.meta.url), threads)

describe("Adam and batch norm on the product's thread pool", () => {
  it("give bit-identical results on 1 and 2 threads, and in the single-threaded build", async () => {
    const one = inChild(1)
    const two = inChild(2)
    await tf.setBackend("wasm")
    const here = adamBatchNormResults().map(digest)
    expect(two.length).toBe(6 + 2 * 3)
    two.forEach((r, i) => {
      expect(firstDifference(r, one[i]), `result ${i}: 2 threads against 1`).toBe(-1)
      expect(firstDifference(r, here[i]), `result ${i}: 2 threads against the single-threaded build`).toBe(-1)
    })
  }, 120_000)
})
