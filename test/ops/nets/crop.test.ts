import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../../src/runtime/backend.ts"
import {
  OUTSIDE_LOGIT,
  activeBounds,
  alignBox,
  crop,
  drawMargins,
  expandBounds,
  fixedMargins,
  sampleBounds,
  sampleBoxMask,
  uncrop
} from "../../../src/ops/nets/crop.ts"
import { Rng } from "../../../src/ops/random.ts"

beforeAll(async () => {
  await initBackend("cpu")
})

/** An NHWC map with the given pixels set to 1: [n, y, x, c]. */
const map = (n: number, h: number, w: number, c: number, on: ReadonlyArray<readonly [number, number, number, number]>) => {
  const d = new Float32Array(n * h * w * c)
  for (const [s, y, x, k] of on) d[((s * h + y) * w + x) * c + k] = 1
  return d
}

describe("crop box", () => {
  const shape = { n: 2, h: 10, w: 12, c: 3 }

  it("covers every active pixel over the whole batch and all channels", () => {
    const d = map(2, 10, 12, 3, [
      [0, 4, 5, 0],
      [1, 2, 9, 2],
      [1, 7, 3, 1]
    ])
    expect(activeBounds(d, shape, 0.5)).toEqual({ minRow: 2, maxRow: 7, minCol: 3, maxCol: 9 })
    expect(sampleBounds(d, shape, 0.5)).toEqual([
      { minRow: 4, maxRow: 4, minCol: 5, maxCol: 5 },
      { minRow: 2, maxRow: 7, minCol: 3, maxCol: 9 }
    ])
  })

  it("binarises at the threshold (>= 0.5 is active) and is null when nothing is", () => {
    const d = new Float32Array(2 * 10 * 12 * 3).fill(0.49)
    expect(activeBounds(d, shape, 0.5)).toBeNull()
    d[(1 * 10 * 12 + 3 * 12 + 4) * 3] = 0.5
    expect(activeBounds(d, shape, 0.5)).toEqual({ minRow: 3, maxRow: 3, minCol: 4, maxCol: 4 })
  })

  it("adds the margin on each side, clamped to the image", () => {
    const b = { minRow: 2, maxRow: 7, minCol: 3, maxCol: 9 }
    expect(expandBounds(b, fixedMargins(1), 10, 12)).toEqual({ top: 1, left: 2, height: 8, width: 9 })
    expect(expandBounds(b, fixedMargins(20), 10, 12)).toEqual({ top: 0, left: 0, height: 10, width: 12 })
    expect(expandBounds(b, { top: 0, bottom: 1, left: 3, right: 0 }, 10, 12)).toEqual({ top: 2, left: 0, height: 7, width: 10 })
  })

  it("aligns a box to the stride grid by growing it, clamped to the image", () => {
    expect(alignBox({ top: 5, left: 9, height: 6, width: 3 }, 4, 20, 14)).toEqual({ top: 4, left: 8, height: 8, width: 4 })
    expect(alignBox({ top: 5, left: 9, height: 14, width: 4 }, 4, 20, 14)).toEqual({ top: 4, left: 8, height: 16, width: 6 })
    const b = { top: 3, left: 2, height: 5, width: 7 }
    expect(alignBox(b, 1, 20, 14)).toEqual(b)
    expect(() => alignBox(b, 0, 20, 14)).toThrow(RangeError)
  })
})

describe("training margins", () => {
  it("keep K without jitter and when the draw says so", () => {
    const rng = Rng.derive(1, "m")
    expect(drawMargins(rng, 20, null)).toEqual(fixedMargins(20))
    expect(drawMargins(rng, 20, { probability: 0, max: 40 })).toEqual(fixedMargins(20))
  })

  it("jitter with probability p, each side independently uniform on [0, 2K]", () => {
    const rng = Rng.derive(2, "m")
    let jittered = 0
    const seen = new Set<number>()
    let sidesDiffer = 0
    const draws = 4000
    for (let i = 0; i < draws; i++) {
      const m = drawMargins(rng, 20, { probability: 0.5, max: 40 })
      const sides = [m.top, m.bottom, m.left, m.right]
      if (sides.some((s) => s !== 20)) jittered++
      for (const s of sides) {
        expect(Number.isInteger(s) && s >= 0 && s <= 40).toBe(true)
        seen.add(s)
      }
      if (new Set(sides).size > 1) sidesDiffer++
    }
    expect(jittered / draws).toBeGreaterThan(0.46)
    expect(jittered / draws).toBeLessThan(0.54)
    expect(seen.size).toBe(41) // every value of [0, 40] occurs
    expect(sidesDiffer / draws).toBeGreaterThan(0.45) // sides are not drawn together
  })

  it("are reproducible from the stream's state", () => {
    const a = Rng.derive(3, "m")
    for (let i = 0; i < 5; i++) drawMargins(a, 20, { probability: 0.5, max: 40 })
    const b = Rng.fromState(a.state())
    for (let i = 0; i < 10; i++) expect(drawMargins(b, 20, { probability: 0.5, max: 40 })).toEqual(drawMargins(a, 20, { probability: 0.5, max: 40 }))
  })
})

describe("crop and uncrop", () => {
  it("paste the box back and fill the outside with a logit whose sigmoid is 0", () => {
    const box = { top: 2, left: 3, height: 4, width: 5 }
    const x = tf.randomNormal([2, 9, 10, 3], 0, 1, "float32", 4) as tf.Tensor4D
    const back = uncrop(crop(x, box), box, 9, 10)
    expect(back.shape).toEqual([2, 9, 10, 3])
    const xv = x.arraySync()
    const bv = back.arraySync()
    const pv = tf.sigmoid(back).arraySync() as number[][][][]
    for (let n = 0; n < 2; n++)
      for (let y = 0; y < 9; y++)
        for (let z = 0; z < 10; z++)
          for (let c = 0; c < 3; c++) {
            const inside = y >= 2 && y < 6 && z >= 3 && z < 8
            if (inside) expect(bv[n]![y]![z]![c]).toBe(xv[n]![y]![z]![c])
            else {
              expect(bv[n]![y]![z]![c]).toBe(OUTSIDE_LOGIT)
              expect(pv[n]![y]![z]![c]).toBe(0)
            }
          }
    tf.dispose([x, back])
  })

  it("pass gradients inside the box and none outside", () => {
    const box = { top: 1, left: 1, height: 2, width: 3 }
    const x = tf.ones([1, 4, 5, 1]) as tf.Tensor4D
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(crop(t as tf.Tensor4D, box), 2)))(x)
    const gv = g.arraySync() as number[][][][]
    for (let y = 0; y < 4; y++) for (let z = 0; z < 5; z++) expect(gv[0]![y]![z]![0]).toBe(y >= 1 && y < 3 && z >= 1 && z < 4 ? 2 : 0)
    tf.dispose([x, g])
  })

  it("masks each sample of a batch outside its own box", () => {
    const m = sampleBoxMask([{ top: 0, left: 0, height: 1, width: 2 }, { top: 1, left: 2, height: 2, width: 1 }], 3, 3)
    expect(m.shape).toEqual([2, 3, 3, 1])
    expect(Array.from(m.dataSync())).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1])
    m.dispose()
  })
})
