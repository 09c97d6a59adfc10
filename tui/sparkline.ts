/** Eight-level sparklines of a series with holes, resampled to the columns available. */

const LEVELS = "▁▂▃▄▅▆▇█"

/**
 * Draws `values` in at most `columns` cells. Longer series are averaged in equal groups; `null`
 * (no data yet) draws a blank so a half-trained curve visibly covers half the width. The scale
 * runs from the series' minimum to its maximum; a flat series sits mid-height.
 */
export const sparkline = (values: ReadonlyArray<number | null>, columns: number): string => {
  if (columns <= 0 || values.length === 0) return ""
  const cells = Math.min(columns, values.length)
  const points: Array<number | null> = []
  for (let c = 0; c < cells; c++) {
    const from = Math.floor((c * values.length) / cells)
    const to = Math.floor(((c + 1) * values.length) / cells)
    let sum = 0
    let n = 0
    for (let i = from; i < to; i++) {
      const v = values[i]
      if (v !== null && v !== undefined && Number.isFinite(v)) {
        sum += v
        n++
      }
    }
    points.push(n === 0 ? null : sum / n)
  }
  const known = points.filter((p): p is number => p !== null)
  if (known.length === 0) return " ".repeat(cells)
  const lo = Math.min(...known)
  const hi = Math.max(...known)
  return points
    .map((p) => {
      if (p === null) return " "
      if (hi === lo) return LEVELS[3]!
      return LEVELS[Math.min(LEVELS.length - 1, Math.floor(((p - lo) / (hi - lo)) * LEVELS.length))]!
    })
    .join("")
}
