import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { held, onBoth, setUpBackends, tensor } from "./compare.ts"

beforeAll(setUpBackends)

describe("Identity and Cast on wasm share memory instead of copying", () => {
  it("clone, cast and their gradients give cpu's values and free everything", async () => {
    const { cpu, wasm } = await onBoth(() =>
      tf.tidy(() => {
        const x = tensor([2, 3, 4], 1)
        const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.clone(tf.cast(a, "float32")), tf.clone(a))))(x)
        return [
          Array.from(g.dataSync()),
          tf.cast(tf.tensor([1.7, -2.2, 0]), "int32").arraySync(),
          tf.cast(tf.tensor([1, 0], [2], "int32"), "float32").arraySync(),
          tf.clone(tf.tensor(["a", "b"])).arraySync()
        ]
      })
    )
    expect(wasm).toEqual(cpu)
  })

  it("a clone outlives its source: the memory is freed with the last reference", async () => {
    await tf.setBackend("wasm")
    const before = held()
    const x = tf.tensor([1, 2, 3])
    const y = tf.clone(x)
    x.dispose()
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3])
    y.dispose()
    expect(held()).toEqual(before)
    await tf.setBackend("cpu")
  })
})
