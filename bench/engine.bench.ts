/**
 * `npm run bench -- engine`: speed of the networks on every backend that loads here.
 *
 * - The CPU-sized RSTN (coarse + saliency + fine, batch norm) at 96x96 and 128x128, batch 4:
 *   forward (inference: coarse, saliency, crop, fine) and one training step (phase I: forward,
 *   backward, Adam update) — median of 5 runs after a warm-up (cpu: a single run).
 * - The reference FCN-8s (width 1, 134M parameters) forward at 256x256, batch 1.
 * - Live tensors before building the models and after disposing them (must be equal).
 *
 * The label of the synthetic batch is a centred disc of radius 0.2 x size, so with the
 * reference margin K = 20 the fine network sees the crop size reported as `fineCrop`.
 * Prints one JSON object.
 */
import * as tf from "@tensorflow/tfjs"
import { activeBounds, expandBounds, fixedMargins } from "../src/ops/nets/crop.ts"
import { cpuFcn8s, createFcn8s, fcn8sForward, fcn8sParameterCount, referenceFcn8s, type Fcn8sConfig } from "../src/ops/nets/fcn8s.ts"
import { disposeParams, parameterCount } from "../src/ops/nets/param.ts"
import { coarseLogits, createRstn, fineInput, fineLogitsInBox, type Rstn } from "../src/ops/nets/rstn.ts"
import { releaseSaliency } from "../src/ops/nets/saliency.ts"
import { cpuAdam } from "../src/ops/train/optimizer.ts"
import { phaseI } from "../src/ops/train/phase.ts"
import { createTrainer, type Batch } from "../src/ops/train/trainer.ts"
import { Rng } from "../src/ops/random.ts"
import { backendNames, initBackend, type BackendName } from "../src/runtime/backend.ts"

const BATCH = 4
const SIZES = [96, 128]
const MARGIN = 20 // rstn-reference.md "Crop": K

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const round = (x: number) => Math.round(x * 10) / 10

const time = (f: () => void, warmup: number, reps: number): number => {
  for (let i = 0; i < warmup; i++) f()
  const ts: number[] = []
  for (let i = 0; i < reps; i++) {
    const t = performance.now()
    f()
    ts.push(performance.now() - t)
  }
  return round(median(ts))
}

const syntheticBatch = (size: number): Batch => {
  const rng = Rng.derive(1, "bench")
  const n = BATCH * size * size * 3
  const images = Float32Array.from({ length: n }, () => rng.next())
  const labels = new Float32Array(n)
  const r = 0.2 * size
  for (let b = 0; b < BATCH; b++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        if ((y - size / 2) ** 2 + (x - size / 2) ** 2 <= r * r) labels.fill(1, ((b * size + y) * size + x) * 3, ((b * size + y) * size + x) * 3 + 3)
  return { images, labels, height: size, width: size, channels: 3, labelChannels: 3 }
}

const rstnForward = (model: Rstn, batch: Batch): void => {
  const { height: h, width: w } = batch
  const bounds = activeBounds(batch.labels, { n: BATCH, h, w, c: 3 }, 0.5)!
  const box = expandBounds(bounds, fixedMargins(MARGIN), h, w)
  tf.tidy(() => {
    const x = tf.tensor4d(batch.images, [BATCH, h, w, 3])
    const p = tf.sigmoid(coarseLogits(model, x, { training: false }))
    tf.sigmoid(fineLogitsInBox(model, fineInput(model, x, p), box, { training: false })).dataSync()
  })
}

const benchRstn = (net: Fcn8sConfig, size: number, warmup: number, reps: number) => {
  const model = createRstn({ coarse: net, fine: net, saliency: releaseSaliency }, 1)
  const batch = syntheticBatch(size)
  const forwardMs = time(() => rstnForward(model, batch), warmup, reps)
  const trainer = createTrainer({
    model,
    samples: Array.from({ length: BATCH }, (_, i) => ({ caseIndex: i, slice: 0 })),
    source: { load: () => batch },
    seed: 1,
    config: {
      phase: phaseI,
      loss: { lambda: 1 / 3, epsilon: 1e-6 },
      crop: { threshold: 0.5, margin: MARGIN, jitter: null },
      optimizer: cpuAdam,
      schedule: { kind: "constant" },
      batchSize: BATCH
    }
  })
  const trainStepMs = time(() => trainer.step(), warmup, reps)
  trainer.dispose()
  model.dispose()
  const b = expandBounds(activeBounds(batch.labels, { n: BATCH, h: size, w: size, c: 3 }, 0.5)!, fixedMargins(MARGIN), size, size)
  return { forwardMs, trainStepMs, fineCrop: `${b.height}x${b.width}` }
}

const benchFcnWidth1 = (warmup: number, reps: number) => {
  const fcn = createFcn8s("coarse", referenceFcn8s, 1)
  const x = tf.randomUniform([1, 256, 256, 3], 0, 1, "float32", 1) as tf.Tensor4D
  const forwardMs = time(() => tf.tidy(() => fcn8sForward(fcn, x, { training: false }).dataSync()), warmup, reps)
  x.dispose()
  const built = parameterCount(fcn.params)
  disposeParams(fcn.params)
  return { parameters: built, formula: fcn8sParameterCount(referenceFcn8s), forwardMs }
}

const results: Record<string, unknown> = {}
for (const name of backendNames as ReadonlyArray<BackendName>) {
  try {
    const info = await initBackend(name)
    // The pure-JS cpu backend needs minutes per training step (its Conv2DBackpropFilter):
    // there, one run without warm-up, and only the proposed width.
    const slow = name === "cpu"
    const [warmup, reps] = slow ? [0, 1] : [1, 5]
    const before = tf.memory().numTensors
    const widths: Record<string, Fcn8sConfig> = slow ? { "1/16": cpuFcn8s } : { "1/16": cpuFcn8s, "1/8": { ...cpuFcn8s, width: 1 / 8 } }
    const rstn: Record<string, unknown> = {}
    for (const [label, net] of Object.entries(widths)) {
      rstn[`width ${label}`] = Object.fromEntries(SIZES.map((s) => [`${s}x${s}`, benchRstn(net, s, warmup, reps)]))
    }
    const fcn8s = benchFcnWidth1(warmup, slow ? 1 : 3)
    results[name] = { available: true, info, rstn, fcn8sWidth1At256: fcn8s, tensors: { before, after: tf.memory().numTensors } }
  } catch (e) {
    results[name] = { available: false, problem: e instanceof Error ? e.message : String(e) }
  }
  process.stderr.write(`engine bench: ${name} done\n`)
}

process.stdout.write(
  JSON.stringify({ batch: BATCH, proposal: { width: "1/16", norm: "batch", optimizer: "adam 1e-3" }, margin: MARGIN, backends: results }) + "\n"
)
