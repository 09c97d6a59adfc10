/**
 * The Wilcoxon signed-rank test of paired differences (two-sided), as `rstn compare` reports it
 * for the per-case DSC of two runs. Conventions follow scipy.stats.wilcoxon's defaults
 * (zero_method "wilcox", no continuity correction) so the p-values can be checked against it:
 * - zero differences are dropped (they carry no sign);
 * - with at most EXACT_MAX_N differences and no ties among their absolute values, the p-value
 *   comes from the exact null distribution of W+ (every sign pattern equally likely);
 * - otherwise the normal approximation of W = min(W+, W-), with mean n(n+1)/4 and variance
 *   n(n+1)(2n+1)/24 less the tie correction Σ(t³ - t)/48 over groups of t tied ranks.
 */

/** scipy's bound for the exact distribution (its `mode="auto"`). */
export const EXACT_MAX_N = 50

export interface WilcoxonResult {
  /** Differences that count: the non-zero ones. */
  readonly n: number
  /** Zero differences, dropped. */
  readonly zeros: number
  /** Sum of the ranks of positive differences. */
  readonly wPlus: number
  readonly wMinus: number
  /** min(W+, W-), the statistic scipy reports for a two-sided test. */
  readonly statistic: number
  /** Two-sided p-value; null when no difference is non-zero (nothing to test). */
  readonly p: number | null
  readonly method: "exact" | "normal"
  /** The standard normal deviate of the approximation (null for the exact test). */
  readonly z: number | null
}

/** Average ranks (1-based) of `xs`, ties sharing the mean of their ranks; and the tie group sizes. */
export const averageRanks = (xs: ReadonlyArray<number>): { readonly ranks: number[]; readonly ties: number[] } => {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0])
  const ranks = new Array<number>(xs.length)
  const ties: number[] = []
  for (let i = 0; i < order.length; ) {
    let j = i
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++
    const rank = (i + j) / 2 + 1
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = rank
    if (j > i) ties.push(j - i + 1)
    i = j + 1
  }
  return { ranks, ties }
}

/**
 * Counts of W+ = k over the 2^n sign patterns, k = 0..n(n+1)/2: the subset-sum counts of 1..n.
 * Doubles hold them exactly up to n = 50 (2^50 < 2^53).
 */
export const signedRankCounts = (n: number): Float64Array => {
  const max = (n * (n + 1)) / 2
  const counts = new Float64Array(max + 1)
  counts[0] = 1
  for (let r = 1; r <= n; r++) for (let k = (r * (r + 1)) / 2; k >= r; k--) counts[k]! += counts[k - r]!
  return counts
}

/** Complementary error function; fractional error below 1.2e-7 everywhere (Chebyshev fit, Numerical Recipes' erfcc). */
export const erfc = (x: number): number => {
  const z = Math.abs(x)
  const t = 1 / (1 + 0.5 * z)
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    )
  return x >= 0 ? r : 2 - r
}

export const wilcoxonSignedRank = (differences: ReadonlyArray<number>): WilcoxonResult => {
  const nonZero = differences.filter((d) => d !== 0)
  const zeros = differences.length - nonZero.length
  const n = nonZero.length
  const { ranks, ties } = averageRanks(nonZero.map(Math.abs))
  let wPlus = 0
  let wMinus = 0
  nonZero.forEach((d, i) => (d > 0 ? (wPlus += ranks[i]!) : (wMinus += ranks[i]!)))
  const statistic = Math.min(wPlus, wMinus)
  if (n === 0) return { n, zeros, wPlus, wMinus, statistic, p: null, method: "exact", z: null }
  if (n <= EXACT_MAX_N && ties.length === 0) {
    const counts = signedRankCounts(n)
    const total = 2 ** n
    let lower = 0
    for (let k = 0; k <= wPlus; k++) lower += counts[k]!
    let upper = 0
    for (let k = wPlus; k < counts.length; k++) upper += counts[k]!
    return { n, zeros, wPlus, wMinus, statistic, p: Math.min(1, (2 * Math.min(lower, upper)) / total), method: "exact", z: null }
  }
  const mean = (n * (n + 1)) / 4
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - ties.reduce((s, t) => s + t * (t * t - 1), 0) / 48
  if (variance <= 0) return { n, zeros, wPlus, wMinus, statistic, p: 1, method: "normal", z: 0 }
  const z = (statistic - mean) / Math.sqrt(variance)
  return { n, zeros, wPlus, wMinus, statistic, p: Math.min(1, erfc(Math.abs(z) / Math.SQRT2)), method: "normal", z }
}
