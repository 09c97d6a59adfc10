import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { tileInto } from "../../../src/ops/kernels/tile.ts"
import { onBoth, setUpBackends, tensor } from "./compare.ts"

beforeAll(setUpBackends)

describe("Tile on wasm", () => {
  it.each<[number[], number[]]>([
    [[1, 1, 1, 5], [2, 3, 4, 1]], // the batch-norm gradient's case
    [[2, 3], [3, 2]],
    [[3], [4]],
    [[2, 1, 3], [1, 5, 2]],
    [[2, 2], [1, 1]],
    [[2, 3, 1, 2, 2], [2, 1, 3, 1, 2]]
  ])("tile(%j, %j) equals cpu exactly", async (shape, reps) => {
    const { cpu, wasm } = await onBoth(() => tf.tidy(() => tf.tile(tensor(shape, 1), reps).dataSync().slice()))
    expect(Array.from(wasm)).toEqual(Array.from(cpu))
  })

  it("tiles int32 and bool tensors, and empty ones", async () => {
    const { cpu, wasm } = await onBoth(() =>
      tf.tidy(() => [
        tf.tile(tf.tensor([1, -2, 3], [3, 1], "int32"), [2, 3]).arraySync(),
        tf.tile(tf.tensor([true, false], [2], "bool"), [3]).arraySync(),
        tf.tile(tf.zeros([0, 2]), [3, 2]).shape
      ])
    )
    expect(wasm).toEqual(cpu)
    expect(wasm[0]).toEqual([
      [1, 1, 1],
      [-2, -2, -2],
      [3, 3, 3],
      [1, 1, 1],
      [-2, -2, -2],
      [3, 3, 3]
    ])
  })

  it("tileInto writes exactly the output block and leaves the rest of the buffer alone", () => {
    const mem = new Float32Array(64).fill(-1)
    mem.set([1, 2, 3, 4], 0) // x: [2, 2]
    tileInto(mem, 0, 10, [2, 2], [2, 3])
    expect(Array.from(mem.slice(10, 34))).toEqual([
      1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4
    ])
    expect(mem.slice(4, 10).every((v) => v === -1)).toBe(true)
    expect(mem.slice(34).every((v) => v === -1)).toBe(true)
  })
})
