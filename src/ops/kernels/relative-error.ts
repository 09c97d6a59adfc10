/**
 * The float32-friendly distance used to compare a kernel with a reference: ||a - b|| / max(||a||,
 * ||b||). Summation order differs between backends, so elementwise equality is too strict, and
 * an absolute tolerance means nothing without the values' scale.
 */
export const relativeError = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) throw new Error(`relativeError: lengths differ (${a.length} vs ${b.length})`)
  let diff = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    const y = b[i]!
    diff += (x - y) * (x - y)
    na += x * x
    nb += y * y
  }
  const scale = Math.sqrt(Math.max(na, nb))
  if (scale === 0) return 0
  return Math.sqrt(diff) / scale
}
