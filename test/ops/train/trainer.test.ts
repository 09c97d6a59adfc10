import * as tf from "@tensorflow/tfjs"
import { Either } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { referenceCrop } from "../../../src/ops/nets/crop.ts"
import { referenceFcn8s, type Fcn8sConfig } from "../../../src/ops/nets/fcn8s.ts"
import { createRstn, type Rstn, type RstnConfig } from "../../../src/ops/nets/rstn.ts"
import { releaseSaliency } from "../../../src/ops/nets/saliency.ts"
import { CheckpointError, CheckpointMismatchError, decodeCheckpoint, encodeCheckpoint } from "../../../src/ops/train/checkpoint.ts"
import { cpuAdam, uniformMultipliers } from "../../../src/ops/train/optimizer.ts"
import { phaseCoarse, phaseFine, phaseI, phaseJ, phaseS, type PhaseConfig } from "../../../src/ops/train/phase.ts"
import { createTrainer, trainingCropBoxes, TrainingDivergedError, type TrainerConfig } from "../../../src/ops/train/trainer.ts"
import { initBackend } from "../../../src/runtime/backend.ts"
import { blobSet } from "./blobs.ts"

beforeAll(async () => {
  await initBackend("wasm")
})

const net: Fcn8sConfig = { ...referenceFcn8s, width: 1 / 16, norm: "batch", dropout: 0.5 }
const rstnConfig: RstnConfig = { coarse: net, fine: net, saliency: releaseSaliency }
const data = blobSet(5, 32, 11)
const config = (phase: PhaseConfig, over: Partial<TrainerConfig> = {}): TrainerConfig => ({
  phase,
  loss: { lambda: 1 / 3, epsilon: 1e-6 },
  crop: { ...referenceCrop, margin: 4, jitter: { probability: 0.5, max: 8 } },
  optimizer: cpuAdam,
  schedule: { kind: "step", every: 1, unit: "epochs", factor: 0.5 },
  batchSize: 2,
  ...over
})
const trainer = (model: Rstn, phase: PhaseConfig, over: Partial<TrainerConfig> = {}) =>
  createTrainer({ model, samples: data.samples, source: data.source, config: config(phase, over), seed: 3, streams: [0, "Z", phase.name] })
const weights = (m: Rstn, prefix = "") =>
  new Map(m.params.filter((p) => p.name.startsWith(prefix)).map((p) => [p.name, Float32Array.from(p.variable.dataSync())]))
const sameBits = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer))

describe("trainer", () => {
  it("keeps the number of live tensors constant across steps", () => {
    const model = createRstn(rstnConfig, 1)
    const t = trainer(model, phaseJ)
    t.step()
    const after1 = tf.memory().numTensors
    for (let i = 0; i < 3; i++) t.step()
    expect(tf.memory().numTensors).toBe(after1)
    t.dispose()
    model.dispose()
  })

  it("reports losses, the iteration and the scheduled learning rate", () => {
    const model = createRstn(rstnConfig, 1)
    const t = trainer(model, phaseI)
    expect(t.batchesPerEpoch).toBe(3) // 5 samples in batches of 2
    const results = Array.from({ length: 4 }, () => t.step())
    expect(results.map((r) => r.iteration)).toEqual([1, 2, 3, 4])
    expect(results.map((r) => r.learningRate)).toEqual([1e-3, 1e-3, 1e-3, 5e-4])
    for (const r of results) {
      expect(r.losses.coarse).toBeGreaterThan(0)
      expect(r.losses.fine).toBeGreaterThan(0)
      expect(r.losses.joint).toBeCloseTo(r.losses.coarse! / 3 + (2 * r.losses.fine!) / 3, 5)
    }
    t.dispose()
    model.dispose()
  })

  it("resumes from an encoded checkpoint to bit-identical weights and optimiser state", () => {
    const total = 7
    const split = 4 // mid-epoch: 3 batches per epoch
    const a = createRstn(rstnConfig, 1)
    const ta = trainer(a, phaseJ)
    const lossesA = Array.from({ length: total }, () => ta.step().losses)

    const b = createRstn(rstnConfig, 1)
    const tb = trainer(b, phaseJ)
    for (let i = 0; i < split; i++) tb.step()
    const bytes = encodeCheckpoint(tb.state())
    tb.dispose()
    b.dispose()

    // a fresh process would build the model from another seed's initialisation and restore
    const c = createRstn(rstnConfig, 999)
    const tc = trainer(c, phaseJ)
    expect(Either.isRight(tc.restore(Either.getOrThrow(decodeCheckpoint(bytes, "ckpt.bin")), "ckpt.bin"))).toBe(true)
    expect(tc.iteration).toBe(split)
    const lossesC = Array.from({ length: total - split }, () => tc.step().losses)
    expect(lossesC).toEqual(lossesA.slice(split))
    const wa = weights(a)
    const wc = weights(c)
    for (const [name, v] of wa) expect(sameBits(v, wc.get(name)!), name).toBe(true)
    const sa = ta.state().tensors.filter((x) => x.name.startsWith("optimizer/"))
    const sc = tc.state().tensors.filter((x) => x.name.startsWith("optimizer/"))
    expect(sc.map((s) => s.name)).toEqual(sa.map((s) => s.name))
    sa.forEach((s, i) => expect(sameBits(s.data, sc[i]!.data), s.name).toBe(true))
    expect(tc.state().rng).toEqual(ta.state().rng)
    for (const x of [ta, tc]) x.dispose()
    for (const m of [a, c]) m.dispose()
  })

  it("refuses a checkpoint of another architecture or phase", () => {
    const model = createRstn(rstnConfig, 1)
    const t = trainer(model, phaseJ)
    t.step()
    const state = t.state()
    const wider = createRstn({ ...rstnConfig, fine: { ...net, width: 1 / 8 } }, 1)
    const tw = trainer(wider, phaseJ)
    const r = tw.restore(state, "ckpt.bin")
    if (Either.isRight(r)) throw new Error("expected a mismatch")
    expect(r.left).toBeInstanceOf(CheckpointMismatchError)
    const e = r.left as CheckpointMismatchError
    expect(e.shapeDiffers.map((d) => d.name)).toContain("optimizer/m/fine/conv1_1/kernel")
    expect(e.message).toMatch(/^ckpt\.bin: checkpoint does not fit this architecture: shape differs for optimizer\/m\/fine\/conv1_1\/kernel/)

    const ti = trainer(model, phaseI)
    const ri = ti.restore(state, "ckpt.bin")
    expect(Either.isLeft(ri) && ri.left instanceof CheckpointError && /phase J, not I/.test(ri.left.message)).toBe(true)
    for (const x of [t, tw, ti]) x.dispose()
    model.dispose()
    wider.dispose()
  })

  it("stage-wise phases train one network and leave the other untouched", () => {
    const model = createRstn({ ...rstnConfig, saliency: null }, 1)
    const fine0 = weights(model, "fine/")
    const tc = trainer(model, phaseCoarse)
    const r = tc.step()
    expect(r.losses.fine).toBeNull()
    expect(r.losses.joint).toBe(r.losses.coarse)
    for (const [name, v] of weights(model, "fine/")) expect(sameBits(v, fine0.get(name)!), name).toBe(true)
    tc.dispose()

    const coarse0 = weights(model, "coarse/")
    const tf_ = trainer(model, phaseFine)
    const rf = tf_.step()
    expect(rf.losses.coarse).toBeNull()
    expect(rf.losses.joint).toBe(rf.losses.fine)
    for (const [name, v] of weights(model, "coarse/")) expect(sameBits(v, coarse0.get(name)!), name).toBe(true)
    expect(weights(model, "fine/").get("fine/conv1_1/kernel")).not.toEqual(fine0.get("fine/conv1_1/kernel"))
    tf_.dispose()
    model.dispose()
  })

  it("the fine term alone moves the coarse network only through the saliency transform", () => {
    // λ = 0 and plain SGD without decay: a coarse weight changes only if the fine loss has a
    // gradient with respect to it.
    const sgd = { optimizer: { kind: "sgd" as const, lr: 0.05, momentum: 0, weightDecay: 0, multipliers: uniformMultipliers }, loss: { lambda: 0, epsilon: 1e-6 } }
    const run = (phase: PhaseConfig) => {
      const model = createRstn({ ...rstnConfig, coarse: { ...net, dropout: 0 }, fine: { ...net, dropout: 0 } }, 2)
      const t = trainer(model, phase, sgd)
      const k0 = weights(model, "coarse/conv2_1/kernel").get("coarse/conv2_1/kernel")!
      t.step()
      const k1 = weights(model, "coarse/conv2_1/kernel").get("coarse/conv2_1/kernel")!
      t.step()
      const k2 = weights(model, "coarse/conv2_1/kernel").get("coarse/conv2_1/kernel")!
      t.dispose()
      model.dispose()
      return { first: !sameBits(k0, k1), second: !sameBits(k1, k2) }
    }
    // the release's zero-initialised second saliency layer blocks the very first step only
    expect(run(phaseJ)).toEqual({ first: false, second: true })
    expect(run(phaseS)).toEqual({ first: false, second: false })
  })

  it("unrolled phases train on the network's own output; one pass is the paper's phase, bit for bit", () => {
    const run = (phase: PhaseConfig, steps: number) => {
      const model = createRstn(rstnConfig, 4)
      const t = trainer(model, phase)
      const losses = Array.from({ length: steps }, () => t.step().losses)
      const tensors = tf.memory().numTensors
      t.step()
      const leaked = tf.memory().numTensors - tensors
      const w = weights(model, "fine/conv1_1/kernel").get("fine/conv1_1/kernel")!
      t.dispose()
      model.dispose()
      return { losses, leaked, w }
    }
    const paper = run(phaseJ, 3)
    const one = run({ ...phaseJ, unroll: { passes: 1, gradient: "stop" } }, 3)
    expect(one.losses).toEqual(paper.losses)
    expect(sameBits(one.w, paper.w)).toBe(true)
    // the first step starts from the same weights, so only the second pass can change its fine loss
    const stop = run({ ...phaseJ, unroll: { passes: 2, gradient: "stop" } }, 3)
    const through = run({ ...phaseJ, unroll: { passes: 2, gradient: "through" } }, 3)
    expect(stop.losses[0]!.coarse).toBe(paper.losses[0]!.coarse)
    expect(stop.losses[0]!.fine).not.toBe(paper.losses[0]!.fine)
    expect(through.losses[0]).toEqual(stop.losses[0])
    // back-propagating into the first pass changes the update, and neither mode leaks tensors
    expect(sameBits(through.w, stop.w)).toBe(false)
    expect([stop.leaked, through.leaked]).toEqual([0, 0])
  })

  it("stops on a non-finite loss without touching the weights", () => {
    const model = createRstn(rstnConfig, 1)
    const poisoned = {
      load: (refs: Parameters<typeof data.source.load>[0]) => {
        const b = data.source.load(refs)
        b.labels[5] = Number.NaN
        return b
      }
    }
    const t = createTrainer({ model, samples: data.samples, source: poisoned, config: config(phaseJ), seed: 3 })
    const before = weights(model)
    const tensors = tf.memory().numTensors
    let error: unknown
    try {
      t.step()
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(TrainingDivergedError)
    expect((error as TrainingDivergedError).message).toMatch(/phase J diverged at iteration 0/)
    expect(t.iteration).toBe(0)
    for (const [name, v] of weights(model)) expect(sameBits(v, before.get(name)!), name).toBe(true)
    expect(tf.memory().numTensors).toBe(tensors)
    t.dispose()
    model.dispose()
  })

  it("crops a batch to the union of per-sample boxes, each falling back to its label when its coarse mask is empty", () => {
    // 2 samples of 10 x 10 x 1: the coarse map is active in sample 0 only; sample 1's label is elsewhere
    const shape = { n: 2, h: 10, w: 10, c: 1 }
    const coarse = new Float32Array(200)
    coarse[2 * 10 + 3] = 0.9
    const labels = new Float32Array(200)
    labels[100 + 7 * 10 + 8] = 1
    labels[2 * 10 + 3] = 1
    const m = { top: 1, bottom: 1, left: 1, right: 1 }
    const crop = { threshold: 0.5, margin: 1, jitter: null }
    const j = trainingCropBoxes(coarse, labels, shape, crop, m, true)
    expect(j.samples).toEqual([
      { top: 1, left: 2, height: 3, width: 3 },
      { top: 6, left: 7, height: 3, width: 3 }
    ])
    expect(j.box).toEqual({ top: 1, left: 2, height: 8, width: 8 })
    // without the fallback (the reference is the label itself), an empty sample adds nothing to the box
    const t = trainingCropBoxes(coarse, labels, shape, crop, m, false)
    expect(t.box).toEqual({ top: 1, left: 2, height: 3, width: 3 })
    expect(trainingCropBoxes(new Float32Array(200), new Float32Array(200), shape, crop, m, true).box).toEqual({ top: 0, left: 0, height: 10, width: 10 })
  })
})
