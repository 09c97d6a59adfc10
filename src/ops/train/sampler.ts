/**
 * Training samples for one view (rstn-reference.md "Data"): which slices train (the slice
 * threshold), and a seeded, resumable order of batches over them.
 *
 * A sample is the 3-slice stack centred on one slice of one case. Each epoch visits every
 * selected sample once: the samples are shuffled, grouped by their 2D shape (a batch must be
 * one tensor, and cases may differ in size), cut into batches, and the batches shuffled. The
 * sampler's state is the RNG state at the start of the epoch plus the position in it, so a
 * restored sampler regenerates the same epoch and continues at the same batch.
 */
import { Rng, type RngState } from "../random.ts"

export interface SampleRef {
  readonly caseIndex: number
  /** Index of the centre slice along the view's axis. */
  readonly slice: number
}

export interface SliceCount extends SampleRef {
  /** Foreground voxels in that slice (e.g. from views.ts `sliceSums` of the label). */
  readonly count: number
}

/**
 * The slice threshold (rstn-reference.md "Data", the release's Data.py): with t <= 1, sort the
 * slices holding any foreground by their count and keep the largest floor(t * count) of them
 * (at least one); every slice whose count ties the smallest kept one is kept too, as the release
 * compares against that count. With t > 1, t is an absolute minimum count (also the release's
 * rule). Returns the kept samples in input order.
 */
export const selectTrainingSlices = (counts: ReadonlyArray<SliceCount>, threshold: number): SampleRef[] => {
  if (!(threshold > 0)) throw new RangeError(`slice threshold ${threshold} must be positive`)
  const positive = counts.filter((c) => c.count > 0)
  if (positive.length === 0) return []
  let minCount: number
  if (threshold <= 1) {
    const sorted = positive.map((c) => c.count).sort((a, b) => a - b)
    const keep = Math.max(1, Math.floor(positive.length * threshold))
    minCount = sorted[sorted.length - keep]!
  } else {
    minCount = threshold
  }
  return counts.filter((c) => c.count > 0 && c.count >= minCount).map((c) => ({ caseIndex: c.caseIndex, slice: c.slice }))
}

export interface SamplerState {
  readonly epoch: number
  /** Batches already taken from this epoch. */
  readonly position: number
  /** RNG state before this epoch's shuffles. */
  readonly epochRng: RngState
}

export interface Sampler {
  readonly batchesPerEpoch: number
  readonly samples: number
  /** The next batch (advancing to a new, reshuffled epoch when one ends). */
  next(): ReadonlyArray<SampleRef>
  state(): SamplerState
  restore(s: SamplerState): void
}

/**
 * @param groupOf  Samples only share a batch with samples of the same key (their 2D shape).
 */
export const createSampler = (
  samples: ReadonlyArray<SampleRef>,
  batchSize: number,
  rng: Rng,
  groupOf: (s: SampleRef) => string = () => ""
): Sampler => {
  if (samples.length === 0) throw new RangeError("sampler: no training samples (no slice holds foreground?)")
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`sampler: batch size ${batchSize}`)
  const plan = (r: Rng): SampleRef[][] => {
    const order = r.shuffle([...samples])
    const groups = new Map<string, SampleRef[]>()
    for (const s of order) {
      const k = groupOf(s)
      const g = groups.get(k)
      if (g) g.push(s)
      else groups.set(k, [s])
    }
    const batches: SampleRef[][] = []
    for (const g of groups.values()) for (let i = 0; i < g.length; i += batchSize) batches.push(g.slice(i, i + batchSize))
    return groups.size > 1 ? r.shuffle(batches) : batches
  }
  let epoch = 0
  let position = 0
  let epochRng = rng.state()
  let current = plan(rng)
  return {
    batchesPerEpoch: current.length,
    samples: samples.length,
    next: () => {
      if (position >= current.length) {
        epoch++
        position = 0
        epochRng = rng.state()
        current = plan(rng)
      }
      return current[position++]!
    },
    state: () => ({ epoch, position, epochRng }),
    restore: (s) => {
      const r = Rng.fromState(s.epochRng)
      current = plan(r)
      ;[epoch, position, epochRng] = [s.epoch, s.position, s.epochRng]
      // continue the same stream the original sampler would use for its next epoch
      rng = r
    }
  }
}
