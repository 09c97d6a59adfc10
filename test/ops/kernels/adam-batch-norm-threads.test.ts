import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { setUpBackends } from "./compare.ts"
import { adamBatchNormResults } from "./fixtures/adam-batch-norm-cases.ts"
import { resultsInChild } from "./thread-child.ts"

beforeAll(setUpBackends)

const inChild = (threads: number): ReadonlyArray<Float32Array> => resultsInChild(new URL("./fixtures/adam-batch-norm-threads.ts", import.meta.url), threads)

describe("Adam and batch norm on the product's thread pool", () => {
  it("give bit-identical results on 1 and 2 threads, and in the single-threaded build", async () => {
    const one = inChild(1)
    const two = inChild(2)
    await tf.setBackend("wasm")
    const here = adamBatchNormResults()
    expect(two.length).toBe(2 * 6 + 2 * 3)
    two.forEach((r, i) => {
      expect(r, `result ${i}`).toEqual(one[i])
      expect(r, `result ${i}`).toEqual(here[i])
    })
  })
})
