/**
 * A synthetic training set built in code for the engine tests: 3-slice stacks (NHWC) of a noisy
 * textured background with one bright, soft-edged ellipse whose position and size vary per
 * sample and drift slightly from slice to slice; the label is the ellipse. Deterministic per seed.
 */
import { Rng } from "../../../src/ops/random.ts"
import type { Batch, BatchSource } from "../../../src/ops/train/trainer.ts"
import type { SampleRef } from "../../../src/ops/train/sampler.ts"

export interface BlobSet {
  readonly size: number
  readonly samples: ReadonlyArray<SampleRef>
  readonly images: ReadonlyArray<Float32Array>
  readonly labels: ReadonlyArray<Float32Array>
  readonly source: BatchSource
}

export const blobSet = (count: number, size: number, seed: number): BlobSet => {
  const rng = Rng.derive(seed, "blobs")
  const images: Float32Array[] = []
  const labels: Float32Array[] = []
  for (let s = 0; s < count; s++) {
    const image = new Float32Array(size * size * 3)
    const label = new Float32Array(size * size * 3)
    const cy = rng.uniform(0.3, 0.7) * size
    const cx = rng.uniform(0.3, 0.7) * size
    const ry = rng.uniform(0.1, 0.2) * size
    const rx = rng.uniform(0.1, 0.2) * size
    const drift = rng.uniform(-1, 1)
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < 3; c++) {
          const dy = (y - cy - drift * (c - 1)) / ry
          const dx = (x - cx) / rx
          const inside = dy * dy + dx * dx <= 1
          const i = (y * size + x) * 3 + c
          const texture = 0.3 + 0.15 * Math.sin(x * 0.7 + c) * Math.cos(y * 0.5)
          image[i] = Math.min(1, Math.max(0, texture + (inside ? 0.35 : 0) + rng.normal(0, 0.05)))
          label[i] = inside ? 1 : 0
        }
      }
    }
    images.push(image)
    labels.push(label)
  }
  const samples = images.map((_, i) => ({ caseIndex: i, slice: 0 }))
  const source: BatchSource = {
    load: (refs): Batch => {
      const n = refs.length
      const im = new Float32Array(n * size * size * 3)
      const lb = new Float32Array(n * size * size * 3)
      refs.forEach((r, k) => {
        im.set(images[r.caseIndex]!, k * size * size * 3)
        lb.set(labels[r.caseIndex]!, k * size * size * 3)
      })
      return { images: im, labels: lb, height: size, width: size, channels: 3, labelChannels: 3 }
    }
  }
  return { size, samples, images, labels, source }
}
