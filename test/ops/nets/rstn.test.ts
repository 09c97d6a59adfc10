import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { activeBounds, expandBounds, fixedMargins, fullBox } from "../../../src/ops/nets/crop.ts"
import { referenceFcn8s } from "../../../src/ops/nets/fcn8s.ts"
import { createRstn, coarseLogits, describeRstn, fineInput, fineLogitsInBox, type Rstn } from "../../../src/ops/nets/rstn.ts"
import { releaseSaliency } from "../../../src/ops/nets/saliency.ts"
import { dscLoss } from "../../../src/ops/train/dsc-loss.ts"
import { initBackend } from "../../../src/runtime/backend.ts"
import { blobSet } from "../train/blobs.ts"

beforeAll(async () => {
  await initBackend("cpu")
})

const net = { ...referenceFcn8s, width: 1 / 16, norm: "batch" as const, dropout: 0 }

/**
 * Gradients of the fine DSC term alone (phase J: box from the coarse prediction, falling back to
 * the label) with respect to every trainable parameter; absent entries received no gradient.
 */
const fineTermGrads = (model: Rstn, useSaliency: boolean): Map<string, Float32Array> => {
  const data = blobSet(2, 32, 3)
  const batch = data.source.load(data.samples)
  const vars = model.params.filter((p) => p.trainable)
  const result = new Map<string, Float32Array>()
  tf.tidy(() => {
    const x = tf.tensor4d(batch.images, [2, 32, 32, 3])
    const y = tf.tensor4d(batch.labels, [2, 32, 32, 3])
    const { grads } = tf.variableGrads(() => {
      const probability = tf.sigmoid(coarseLogits(model, x, { training: true }))
      const shape = { n: 2, h: 32, w: 32, c: 3 }
      const bounds = activeBounds(probability.dataSync(), shape, 0.5) ?? activeBounds(batch.labels, shape, 0.5)
      const box = bounds ? expandBounds(bounds, fixedMargins(4), 32, 32) : fullBox(32, 32)
      const input = fineInput(model, x, useSaliency ? probability : null)
      return dscLoss(tf.sigmoid(fineLogitsInBox(model, input, box, { training: true })), y, 1e-6)
    }, vars.map((p) => p.variable))
    for (const p of vars) {
      const g = grads[p.variable.name]
      if (g) result.set(p.name, Float32Array.from(g.dataSync()))
    }
  })
  return result
}

const norm = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0))

describe("RSTN gradient flow", () => {
  // The release's second saliency layer starts with zero weights, so g ignores the map and no
  // gradient reaches the coarse network on the very first step (the trainer test checks that it
  // does from the second step on); here both layers start Xavier-initialised.
  const xavierSaliency = {
    channels: 3,
    layers: releaseSaliency.layers.map((l) => ({ ...l, init: { ...l.init, weights: "xavier-normal" as const } }))
  }

  it("the fine loss alone reaches the coarse weights through the saliency transform", () => {
    const model = createRstn({ coarse: net, fine: net, saliency: xavierSaliency }, 5)
    const grads = fineTermGrads(model, true)
    for (const name of ["coarse/conv1_1/kernel", "coarse/conv3_2/kernel", "coarse/fc6/kernel", "coarse/score_fr/kernel", "saliency/conv1/kernel", "saliency/conv2/kernel", "fine/conv1_1/kernel"]) {
      expect(grads.has(name), name).toBe(true)
      expect(norm(grads.get(name)!), name).toBeGreaterThan(0)
    }
    model.dispose()
  })

  it("at the release's initialisation the first gradient stops at the zero second layer", () => {
    const model = createRstn({ coarse: net, fine: net, saliency: releaseSaliency }, 5)
    const grads = fineTermGrads(model, true)
    expect(norm(grads.get("coarse/conv1_1/kernel")!)).toBe(0)
    expect(norm(grads.get("saliency/conv1/kernel")!)).toBe(0)
    expect(norm(grads.get("saliency/conv2/kernel")!)).toBeGreaterThan(0)
    model.dispose()
  })

  it("without the saliency transform the fine loss gives the coarse network no gradient", () => {
    const model = createRstn({ coarse: net, fine: net, saliency: xavierSaliency }, 5)
    const grads = fineTermGrads(model, false)
    expect([...grads.keys()].filter((n) => n.startsWith("coarse/") || n.startsWith("saliency/"))).toEqual([])
    expect(norm(grads.get("fine/conv1_1/kernel")!)).toBeGreaterThan(0)
    model.dispose()
  })
})

describe("RSTN model", () => {
  it("holds coarse, saliency and fine parameters under stable prefixes and frees them all", () => {
    const before = tf.memory().numTensors
    const model = createRstn({ coarse: net, fine: { ...net, width: 1 / 8 }, saliency: releaseSaliency }, 1)
    expect(model.params.filter((p) => p.name.startsWith("saliency/")).length).toBe(4)
    expect(model.byName.get("fine/conv1_1/kernel")!.variable.shape).toEqual([3, 3, 3, 8])
    expect(model.byName.get("coarse/conv1_1/kernel")!.variable.shape).toEqual([3, 3, 3, 4])
    expect(describeRstn(model.config)).toMatchObject({ kind: "rstn", coarse: { width: 1 / 16 }, fine: { width: 1 / 8 }, saliency: { layers: [{ kernel: 3 }, { kernel: 5 }] } })
    model.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})
