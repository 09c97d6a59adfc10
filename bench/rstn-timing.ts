/**
 * Timing of the whole RSTN on the active backend, shared by bench/engine.bench.ts and the
 * per-thread-count child bench/rstn-step.ts: forward (inference: coarse, saliency, crop, fine)
 * and one training step (phase I: forward, backward, Adam update), each the median of `reps`
 * runs after `warmup`. The synthetic batch's label is a centred disc of radius 0.2 x size, so
 * with the reference margin K = 20 the fine network sees the crop reported as `fineCrop`.
 */
import * as tf from "@tensorflow/tfjs"
import { activeBounds, expandBounds, fixedMargins } from "../src/ops/nets/crop.ts"
import type { Fcn8sConfig } from "../src/ops/nets/fcn8s.ts"
import { coarseLogits, createRstn, fineInput, fineLogitsInBox, type Rstn } from "../src/ops/nets/rstn.ts"
import { releaseSaliency } from "../src/ops/nets/saliency.ts"
import { cpuAdam } from "../src/ops/train/optimizer.ts"
import { phaseI } from "../src/ops/train/phase.ts"
import { createTrainer, type Batch } from "../src/ops/train/trainer.ts"
import { Rng } from "../src/ops/random.ts"

export const BATCH = 4
export const MARGIN = 20 // rstn-reference.md "Crop": K

export const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
export const round = (x: number) => Math.round(x * 10) / 10

/** Median wall time of `reps` runs after `warmup`, in ms. */
export const time = (f: () => void, warmup: number, reps: number): number => timeBoth(f, warmup, reps).wall

/**
 * Median wall time and median CPU time (this process, every thread) per run. On a machine
 * shared with other work the wall time includes waiting for a core; the CPU time of a
 * one-thread run does not, so it compares implementations more steadily under load.
 */
export const timeBoth = (f: () => void, warmup: number, reps: number): { wall: number; cpu: number } => {
  for (let i = 0; i < warmup; i++) f()
  const walls: number[] = []
  const cpus: number[] = []
  for (let i = 0; i < reps; i++) {
    const c = process.cpuUsage()
    const t = performance.now()
    f()
    walls.push(performance.now() - t)
    const d = process.cpuUsage(c)
    cpus.push((d.user + d.system) / 1000)
  }
  return { wall: round(median(walls)), cpu: round(median(cpus)) }
}

export const syntheticBatch = (size: number): Batch => {
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

export interface RstnTiming {
  readonly forwardMs: number
  readonly trainStepMs: number
  /** CPU time of this process (all threads) per forward pass / training step. */
  readonly forwardCpuMs: number
  readonly trainStepCpuMs: number
  readonly fineCrop: string
  /** The joint loss of every training step, warm-up included, in order (same seed: same numbers). */
  readonly losses: ReadonlyArray<number>
}

export const benchRstn = (net: Fcn8sConfig, size: number, warmup: number, reps: number): RstnTiming => {
  const model = createRstn({ coarse: net, fine: net, saliency: releaseSaliency }, 1)
  const batch = syntheticBatch(size)
  const forward = timeBoth(() => rstnForward(model, batch), warmup, reps)
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
  const losses: number[] = []
  const step = timeBoth(() => void losses.push(trainer.step().losses.joint), warmup, reps)
  trainer.dispose()
  model.dispose()
  const b = expandBounds(activeBounds(batch.labels, { n: BATCH, h: size, w: size, c: 3 }, 0.5)!, fixedMargins(MARGIN), size, size)
  return {
    forwardMs: forward.wall,
    trainStepMs: step.wall,
    forwardCpuMs: forward.cpu,
    trainStepCpuMs: step.cpu,
    fineCrop: `${b.height}x${b.width}`,
    losses
  }
}
