import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { filterGradByWinograd, forwardByWinograd, suitsWinograd, suitsWinogradFilterGrad } from "../../../src/ops/kernels/conv2d-winograd.ts"
import { gemmOf } from "../../../src/ops/kernels/gemm-backend.ts"
import { relativeError } from "../../../src/ops/kernels/relative-error.ts"
import { asWasm, type Info } from "../../../src/ops/kernels/wasm-kernel-utils.ts"
import { held, onBoth, setUpBackends, tensor, values } from "./compare.ts"
import { ROUTED_CASES, THREAD_CASES, winogradResults } from "./fixtures/winograd-cases.ts"
import { resultsInChild } from "./thread-child.ts"

beforeAll(setUpBackends)

type Pad = "same" | "valid"
const geometry = (x: ReadonlyArray<number>, w: ReadonlyArray<number>, pad: Pad, stride = 1, dilation = 1) =>
  tf.backend_util.computeConv2DInfo(
    [...x] as [number, number, number, number], [...w] as [number, number, number, number], stride, dilation, pad, undefined, false, "channelsLast"
  )

/** The geometry of the forward convolution that computes a stride-1 input gradient: dy through the flipped filter. */
const inputGradGeometry = (x: ReadonlyArray<number>, w: ReadonlyArray<number>, pad: Pad) => {
  const f = geometry(x, w, pad)
  return tf.backend_util.computeConv2DInfo(
    [f.batchSize, f.outHeight, f.outWidth, f.outChannels], [3, 3, f.outChannels, f.inChannels], 1, 1,
    [[0, 0], [2 - f.padInfo.top, 2 - f.padInfo.bottom], [2 - f.padInfo.left, 2 - f.padInfo.right], [0, 0]],
    undefined, false, "channelsLast"
  )
}

describe("which convolutions take Winograd's path", () => {
  it("3x3, stride 1, no dilation, 16 channels or more on both sides, maps of 3x3 or more, bounded memory", () => {
    const both = (x: number[], w: number[], pad: Pad = "same", stride = 1, dilation = 1) => {
      const info = geometry(x, w, pad, stride, dilation)
      return [suitsWinograd(info), suitsWinogradFilterGrad(info)]
    }
    // the networks' layers, 'valid' padding, odd maps
    expect(both([4, 32, 32, 64], [3, 3, 64, 64])).toEqual([true, true])
    expect(both([4, 64, 64, 16], [3, 3, 16, 32])).toEqual([true, true])
    expect(both([4, 3, 3, 128], [3, 3, 128, 128])).toEqual([true, true])
    expect(both([1, 7, 5, 20], [3, 3, 20, 18], "valid")).toEqual([true, true])
    // 16 -> 16: only the filter gradient gains
    expect(both([4, 128, 128, 16], [3, 3, 16, 16])).toEqual([false, true])
    // 3 or 8 channels on either side (the first layer, its input gradient): the direct product
    expect(both([4, 128, 128, 3], [3, 3, 3, 16])).toEqual([false, false])
    expect(both([4, 128, 128, 16], [3, 3, 16, 3])).toEqual([false, false])
    expect(both([4, 128, 128, 8], [3, 3, 8, 16])).toEqual([false, false])
    // other kernels, strides, dilations, and maps under 3x3
    expect(both([4, 32, 32, 64], [5, 5, 64, 64])).toEqual([false, false])
    expect(both([4, 32, 32, 64], [1, 1, 64, 64])).toEqual([false, false])
    expect(both([4, 32, 32, 64], [3, 3, 64, 64], "same", 2)).toEqual([false, false])
    expect(both([4, 32, 32, 64], [3, 3, 64, 64], "same", 1, 2)).toEqual([false, false])
    expect(both([4, 2, 2, 128], [3, 3, 128, 128])).toEqual([false, false])
    // a width-1 network's first block on a 512x512 slice: 2 GB of matrices, the direct product stays
    expect(both([1, 512, 512, 64], [3, 3, 64, 64])).toEqual([false, false])
    expect(both([1, 256, 256, 64], [3, 3, 64, 64])).toEqual([true, true])
  })

  it("takes the cases below on the forward, input-gradient and filter-gradient paths", () => {
    for (const [x, w, pad] of [...ROUTED_CASES, ...THREAD_CASES]) {
      expect(suitsWinograd(geometry(x, w, pad))).toBe(true)
      expect(suitsWinogradFilterGrad(geometry(x, w, pad))).toBe(true)
      expect(suitsWinograd(inputGradGeometry(x, w, pad))).toBe(true)
    }
  })
})

/**
 * The forward convolution and the filter gradient in float64 (the cpu backend takes half a
 * minute on the networks' shapes): y[b, oh, ow, co] = Σ x[b, oh + i - top, ow + j - left, ci] ·
 * w[i, j, ci, co], and dw[i, j, ci, co] = Σ x[...] · dy[b, oh, ow, co].
 */
const reference = (info: tf.backend_util.Conv2DInfo, x: Float32Array, w: Float32Array, dy: Float32Array) => {
  const { batchSize: n, inHeight: h, inWidth: wd, inChannels: inC, outChannels: outC, outHeight: ho, outWidth: wo } = info
  const { top, left } = info.padInfo
  const y = new Float64Array(n * ho * wo * outC)
  const dw = new Float64Array(9 * inC * outC)
  for (let b = 0; b < n; b++) {
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        const out = ((b * ho + oh) * wo + ow) * outC
        for (let i = 0; i < 3; i++) {
          const ih = oh + i - top
          if (ih < 0 || ih >= h) continue
          for (let j = 0; j < 3; j++) {
            const iw = ow + j - left
            if (iw < 0 || iw >= wd) continue
            const input = ((b * h + ih) * wd + iw) * inC
            for (let ci = 0; ci < inC; ci++) {
              const xv = x[input + ci]!
              const tap = ((i * 3 + j) * inC + ci) * outC
              for (let co = 0; co < outC; co++) {
                y[out + co] += xv * w[tap + co]!
                dw[tap + co] += xv * dy[out + co]!
              }
            }
          }
        }
      }
    }
  }
  return { y, dw }
}

/** Runs a Winograd kernel directly on wasm (whatever the routing) and returns its result's values. */
const direct = (f: (x: Info, other: Info) => Info, xs: ReadonlyArray<number>, others: ReadonlyArray<number>) => async () => {
  await tf.setBackend("wasm")
  const before = held()
  const x = tensor(xs, 1)
  const other = tensor(others, 2)
  const out = f(x, other)
  const values = tf.backend().readSync(out.dataId) as Float32Array
  tf.backend().disposeData(out.dataId)
  tf.dispose([x, other])
  expect(held()).toEqual(before)
  return values
}

describe("Winograd F(2x2, 3x3) on the wasm backend", () => {
  const wasm = () => {
    const backend = asWasm(tf.backend())
    const gemm = gemmOf(backend)
    if (gemm === null) throw new Error("relaxed SIMD does not compile here")
    return { backend, gemm }
  }

  // the networks' shapes, then odd maps, channels off the vectors of 4 and the column blocks of 8, 'valid', batch 1
  it.each<[ReadonlyArray<number>, ReadonlyArray<number>, Pad]>([
    [[4, 32, 32, 64], [3, 3, 64, 64], "same"],
    [[4, 16, 16, 128], [3, 3, 128, 128], "same"],
    [[4, 12, 12, 128], [3, 3, 128, 128], "same"],
    [[4, 6, 6, 128], [3, 3, 128, 128], "same"],
    [[4, 3, 3, 128], [3, 3, 128, 128], "same"],
    [[4, 7, 5, 20], [3, 3, 20, 20], "same"],
    [[1, 9, 8, 6], [3, 3, 6, 5], "valid"],
    [[1, 5, 6, 3], [3, 3, 3, 13], "same"],
    [[2, 11, 13, 17], [3, 3, 17, 30], "valid"]
  ])("%j * %j (%s): forward and filter gradient equal a float64 reference's", async (xs, ws, pad) => {
    const info = geometry(xs, ws, pad)
    const dys = [info.batchSize, info.outHeight, info.outWidth, info.outChannels]
    const size = (s: ReadonlyArray<number>) => s.reduce((a, b) => a * b, 1)
    const { y, dw } = reference(info, values(size(xs), 1), values(size(ws), 2), values(size(dys), 2))
    const forward = await direct((x, w) => forwardByWinograd(wasm().backend, wasm().gemm, x, w, info), xs, ws)()
    const filterGrad = await direct((x, dy) => filterGradByWinograd(wasm().backend, wasm().gemm, x, dy, info), xs, dys)()
    expect(forward.length).toBe(y.length)
    expect(filterGrad.length).toBe(dw.length)
    expect(relativeError(y, forward)).toBeLessThan(1e-5)
    expect(relativeError(dw, filterGrad)).toBeLessThan(1e-5)
  })

  it("computes the routed convolutions and their gradients as cpu does, leaving no tensor behind", async () => {
    const { cpu, wasm } = await onBoth(() => winogradResults(ROUTED_CASES))
    expect(wasm.length).toBe(cpu.length)
    cpu.forEach((c, i) => {
      expect(c.some((value) => value !== 0)).toBe(true)
      expect(relativeError(c, wasm[i]!)).toBeLessThan(1e-4)
    })
  })

  it("trains a small network of 3x3 convolutions as cpu does (three SGD steps)", async () => {
    const shapes = [[3, 3, 3, 16], [3, 3, 16, 24], [3, 3, 24, 24], [1, 1, 24, 1]]
    const { cpu, wasm } = await onBoth(() => {
      const w = tf.tidy(() => shapes.map((s, i) => tf.variable(tf.mul(tensor(s, 20 + i), 0.3), true, `wino${i}_${++made}`)))
      const optimizer = tf.train.sgd(0.05)
      const losses = tf.tidy(() => {
        const x = tensor([2, 20, 20, 3], 7) as tf.Tensor4D
        const label = tf.cast(tf.greater(tensor([2, 18, 18, 1], 8), 0), "float32")
        const model = () => {
          let h = tf.relu(tf.conv2d(x, w[0] as tf.Variable<tf.Rank.R4>, 1, "same"))
          h = tf.relu(tf.conv2d(h, w[1] as tf.Variable<tf.Rank.R4>, 1, "valid"))
          h = tf.relu(tf.conv2d(h, w[2] as tf.Variable<tf.Rank.R4>, 1, "same"))
          const p = tf.sigmoid(tf.conv2d(h, w[3] as tf.Variable<tf.Rank.R4>, 1, "same"))
          return tf.mean(tf.square(tf.sub(p, label))) as tf.Scalar
        }
        return [0, 1, 2].map(() => optimizer.minimize(model, true, w)!.dataSync()[0]!)
      })
      optimizer.dispose()
      tf.dispose(w)
      return losses
    })
    expect(wasm[2]!).toBeLessThan(wasm[0]!)
    wasm.forEach((l, i) => expect(Math.abs(l - cpu[i]!)).toBeLessThan(1e-4))
  })
})
let made = 0

/** winograd-cases.ts on wasm with `threads` threads, in a process of its own. */
const inChild = (threads: number): ReadonlyArray<Float32Array> => resultsInChild(new URL("./fixtures/winograd-threads.ts", import.meta.url), threads)

describe("Winograd on the threaded wasm build", () => {
  it("gives bit-identical results on 1 and 2 threads, equal to this process's", async () => {
    const one = inChild(1)
    const two = inChild(2)
    await tf.setBackend("wasm")
    const here = winogradResults(THREAD_CASES)
    expect(two.length).toBe(3 * THREAD_CASES.length)
    two.forEach((r, i) => {
      expect(r).toEqual(one[i])
      expect(relativeError(here[i]!, r)).toBeLessThan(1e-6)
    })
  })
})
