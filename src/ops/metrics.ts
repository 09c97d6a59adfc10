/**
 * Segmentation metrics: the Dice-Sørensen coefficient (DSC) the paper reports, used both
 * against the ground truth and between consecutive rounds (the inter-iteration DSC); precision,
 * recall and the predicted volume, which tell under- from over-segmentation; and the summary
 * statistics of the paper's tables.
 */

/** Anything non-zero is foreground. */
export type Mask = Uint8Array

/**
 * DSC(Y, Z) = 2|Y ∩ Z| / (|Y| + |Z|). Two empty masks give 1 (rstn-reference.md "Testing":
 * two empty masks count as DSC 1), so an empty prediction of an empty label is perfect.
 */
/** The voxels a binary mask (0/1) marks. */
export const maskVoxels = (m: Mask): number => {
  let k = 0
  for (let i = 0; i < m.length; i++) k += m[i]!
  return k
}

export const dice = (y: Mask, z: Mask): number => agreement(y, z).dsc

/** A predicted mask against the ground truth: what the DSC, precision and recall are made of. */
export interface Agreement {
  /** Voxels in the prediction, |Z|. */
  readonly voxels: number
  /** DSC(Y, Z). */
  readonly dsc: number
  /** |Y ∩ Z| / |Z|; null for an empty prediction. */
  readonly precision: number | null
  /** |Y ∩ Z| / |Y|; null for an empty ground truth. */
  readonly recall: number | null
}

const fromCounts = (overlap: number, truth: number, predicted: number): Agreement => ({
  voxels: predicted,
  dsc: truth + predicted === 0 ? 1 : (2 * overlap) / (truth + predicted),
  precision: predicted === 0 ? null : overlap / predicted,
  recall: truth === 0 ? null : overlap / truth
})

/** DSC, precision, recall and predicted voxels of `z` against the ground truth `y`, in one pass. */
export const agreement = (y: Mask, z: Mask): Agreement => {
  if (y.length !== z.length) throw new RangeError(`agreement: masks of ${y.length} and ${z.length} voxels`)
  let inter = 0
  let sy = 0
  let sz = 0
  for (let i = 0; i < y.length; i++) {
    const a = y[i] !== 0 ? 1 : 0
    const b = z[i] !== 0 ? 1 : 0
    sy += a
    sz += b
    inter += a & b
  }
  return fromCounts(inter, sy, sz)
}

/** The agreement of a probability map binarised at `threshold` (p >= threshold), without building the mask. */
export const agreementAt = (y: Mask, probability: ArrayLike<number>, threshold: number): Agreement => {
  if (y.length !== probability.length) throw new RangeError(`agreement: ${y.length} label and ${probability.length} probability voxels`)
  let inter = 0
  let sy = 0
  let sz = 0
  for (let i = 0; i < y.length; i++) {
    const a = y[i] !== 0 ? 1 : 0
    const b = probability[i]! >= threshold ? 1 : 0
    sy += a
    sz += b
    inter += a & b
  }
  return fromCounts(inter, sy, sz)
}

/** The inter-iteration DSC between the masks of rounds r-1 and r (the paper's convergence test). */
export const interIterationDice = (previous: Mask, current: Mask): number => dice(previous, current)

export interface Summary {
  readonly count: number
  readonly mean: number
  /** Population standard deviation (divides by count, not count - 1), as numpy's default `std`. */
  readonly std: number
  readonly max: number
  readonly min: number
}

/** mean ± std, max, min over cases; an empty list gives count 0 and NaN statistics. */
export const summarize = (values: ReadonlyArray<number>): Summary => {
  const count = values.length
  if (count === 0) return { count, mean: NaN, std: NaN, max: NaN, min: NaN }
  let sum = 0
  let max = -Infinity
  let min = Infinity
  for (const v of values) {
    sum += v
    if (v > max) max = v
    if (v < min) min = v
  }
  const mean = sum / count
  let sq = 0
  for (const v of values) sq += (v - mean) * (v - mean)
  return { count, mean, std: Math.sqrt(sq / count), max, min }
}
