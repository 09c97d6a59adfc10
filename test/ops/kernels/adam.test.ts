import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { adamStep, type AdamAttrs } from "../../../src/ops/kernels/adam.ts"
import { held, onBoth, setUpBackends, tensor } from "./compare.ts"

beforeAll(setUpBackends)

/** The unfused update, op for op as src/ops/train/optimizer.ts wrote it before the kernel. */
const chain = (w: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, a: AdamAttrs): tf.Tensor[] =>
  tf.tidy(() => {
    const nm = tf.add(tf.mul(m, a.beta1), tf.mul(g, 1 - a.beta1))
    const nv = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(g), 1 - a.beta2))
    let d = tf.div(tf.div(nm, a.c1), tf.add(tf.sqrt(tf.div(nv, a.c2)), a.epsilon))
    if (a.decay > 0) d = tf.add(d, tf.mul(w, a.decay))
    return [tf.sub(w, tf.mul(d, a.rate)), nm, nv]
  })

/** Three updates in a row with both rules; returns every intermediate w, m, v of both. */
const run = (decay: number) =>
  tf.tidy(() => {
    let fused = [tensor([3, 5, 7], 1), tf.zeros([3, 5, 7]), tf.zeros([3, 5, 7])]
    let plain = fused
    const seen: number[][] = []
    for (let t = 1; t <= 3; t++) {
      const g = tf.mul(tensor([3, 5, 7], 10 + t), 0.01 * t)
      const attrs: AdamAttrs = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7, c1: 1 - 0.9 ** t, c2: 1 - 0.999 ** t, rate: 1e-3 * t, decay }
      fused = adamStep(fused[0]!, fused[1]!, fused[2]!, g, attrs)
      plain = chain(plain[0]!, plain[1]!, plain[2]!, g, attrs)
      for (const x of [...fused, ...plain]) seen.push(Array.from(x.dataSync()))
    }
    return seen
  })

describe("the fused Adam kernel", () => {
  it.each([0, 0.01])("is bit-identical to the op chain on cpu and wasm, and across them (decay %s)", async (decay) => {
    const { cpu, wasm } = await onBoth(() => run(decay))
    for (const seen of [cpu, wasm]) {
      for (let k = 0; k < seen.length; k += 6) for (let j = 0; j < 3; j++) expect(seen[k + j]).toEqual(seen[k + 3 + j])
    }
    expect(wasm).toEqual(cpu)
  })

  it("frees nothing it should keep and keeps nothing it should free", async () => {
    await tf.setBackend("wasm")
    const before = held()
    const x = tf.tidy(() => [tensor([4], 1), tensor([4], 2), tf.abs(tensor([4], 3)), tensor([4], 4)])
    const out = adamStep(x[0]!, x[1]!, x[2]!, x[3]!, { beta1: 0.9, beta2: 0.999, epsilon: 1e-7, c1: 0.1, c2: 0.001, rate: 1e-3, decay: 0 })
    expect(out.map((t) => t.shape)).toEqual([[4], [4], [4]])
    tf.dispose([...x, ...out])
    expect(held()).toEqual(before)
    await tf.setBackend("cpu")
  })
})
