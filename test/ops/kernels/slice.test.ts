import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { onBoth, setUpBackends, tensor } from "./compare.ts"

beforeAll(setUpBackends)

describe("Slice on wasm", () => {
  it.each<[number[], number[], number[]]>([
    [[2, 9, 10, 3], [0, 2, 3, 0], [-1, 5, 4, -1]], // the fine network's crop
    [[2, 9, 10, 3], [1, 0, 0, 0], [1, -1, -1, -1]], // one whole sample: a single run
    [[2, 9, 10, 3], [0, 2, 3, 1], [2, 5, 4, 2]], // some channels
    [[4, 6], [1, 2], [2, 3]],
    [[7], [2], [4]],
    [[3, 4, 5], [0, 0, 0], [3, 4, 5]],
    [[2, 3, 1, 2, 2], [1, 1, 0, 0, 1], [1, 2, 1, 2, 1]],
    [[3, 4], [1, 1], [0, 2]]
  ])("slice(%j, %j, %j) equals cpu exactly", async (shape, begin, size) => {
    const { cpu, wasm } = await onBoth(() => tf.tidy(() => {
      const y = tf.slice(tensor(shape, 1), begin, size)
      return [y.shape, Array.from(y.dataSync())]
    }))
    expect(wasm).toEqual(cpu)
  })

  it("slices int32 and bool tensors through the stock kernel", async () => {
    const { cpu, wasm } = await onBoth(() =>
      tf.tidy(() => [
        tf.slice(tf.tensor([1, 2, 3, 4], [2, 2], "int32"), [1, 0], [1, 2]).arraySync(),
        tf.slice(tf.tensor([true, false, true], [3], "bool"), [1], [2]).arraySync()
      ])
    )
    expect(wasm).toEqual(cpu)
  })
})
