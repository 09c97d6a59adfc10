/** A progress bar in eighths of a cell, so slow training still visibly moves at 80 columns. */

const PARTIAL = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]

export const progressBar = (fraction: number, columns: number): string => {
  if (columns <= 0) return ""
  const f = Number.isFinite(fraction) ? Math.max(0, Math.min(1, fraction)) : 0
  const eighths = Math.floor(f * columns * 8)
  const full = Math.floor(eighths / 8)
  const partial = full < columns ? PARTIAL[eighths % 8]! : ""
  return "█".repeat(full) + partial + "░".repeat(columns - full - (partial === "" ? 0 : 1))
}
