/**
 * Cross-validation folds over cases in sorted order, split exactly as the reference release
 * does (rstn-reference.md "Data"; utils.py `in_training_set`), so fold f here tests the same
 * cases as fold f there.
 */

export interface FoldRange {
  /** First test index (inclusive). */
  readonly start: number
  /** One past the last test index. */
  readonly end: number
}

const checkArgs = (cases: number, folds: number, fold?: number): void => {
  if (!Number.isInteger(cases) || cases < 0) throw new RangeError(`case count must be a non-negative integer, got ${cases}`)
  if (!Number.isInteger(folds) || folds < 1) throw new RangeError(`fold count must be a positive integer, got ${folds}`)
  if (fold !== undefined && (!Number.isInteger(fold) || fold < 0 || fold >= folds)) {
    throw new RangeError(`fold must be an integer in [0, ${folds - 1}], got ${fold}`)
  }
}

/**
 * The test indices [start, end) of fold `fold` of `folds` over `cases` cases:
 * r = F - N mod F, s = (N - N mod F) / F, start = s*f + max(0, f - r),
 * end = s*(f+1) + max(0, f + 1 - r). The last N mod F folds get one extra case.
 */
export const foldRange = (cases: number, folds: number, fold: number): FoldRange => {
  checkArgs(cases, folds, fold)
  const remainder = folds - (cases % folds)
  const size = (cases - (cases % folds)) / folds
  return {
    start: size * fold + Math.max(0, fold - remainder),
    end: size * (fold + 1) + Math.max(0, fold + 1 - remainder)
  }
}

/** Test and training case indices of one fold; together they are 0..cases-1. */
export const foldSplit = (
  cases: number,
  folds: number,
  fold: number
): { readonly test: ReadonlyArray<number>; readonly train: ReadonlyArray<number> } => {
  const { start, end } = foldRange(cases, folds, fold)
  const test: number[] = []
  const train: number[] = []
  for (let i = 0; i < cases; i++) (i >= start && i < end ? test : train).push(i)
  return { test, train }
}

/** The fold whose test set holds case `index`. */
export const foldOf = (cases: number, folds: number, index: number): number => {
  checkArgs(cases, folds)
  if (!Number.isInteger(index) || index < 0 || index >= cases) {
    throw new RangeError(`case index must be an integer in [0, ${cases - 1}], got ${index}`)
  }
  for (let f = 0; f < folds; f++) {
    const { start, end } = foldRange(cases, folds, f)
    if (index >= start && index < end) return f
  }
  throw new RangeError(`case ${index} lies in no fold`) // unreachable: the folds partition 0..cases-1
}
