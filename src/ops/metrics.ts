/**
 * Segmentation metrics: the Dice-Sørensen coefficient (DSC) the paper reports, used both
 * against the ground truth and between consecutive rounds (the inter-iteration DSC), and the
 * summary statistics of its tables.
 */

/** Anything non-zero is foreground. */
export type Mask = Uint8Array

/**
 * DSC(Y, Z) = 2|Y ∩ Z| / (|Y| + |Z|). Two empty masks give 1 (rstn-reference.md "Testing":
 * two empty masks count as DSC 1), so an empty prediction of an empty label is perfect.
 */
export const dice = (y: Mask, z: Mask): number => {
  if (y.length !== z.length) throw new RangeError(`dice: masks of ${y.length} and ${z.length} voxels`)
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
  return sy + sz === 0 ? 1 : (2 * inter) / (sy + sz)
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
