/**
 * Number and text formatting shared by the UI's panels: Dice scores, durations, fixed-width
 * cells. Every function returns plain text; colour is the components' business.
 */

/** Display width; the UI's own glyphs are all one column wide. */
export const width = (s: string): number => [...s].length

/** Cuts `s` to `w` columns, ending in `…` when something was cut. */
export const truncate = (s: string, w: number): string => {
  if (w <= 0) return ""
  const chars = [...s]
  return chars.length <= w ? s : chars.slice(0, w - 1).join("") + "…"
}

export const padEnd = (s: string, w: number): string => {
  const t = truncate(s, w)
  return t + " ".repeat(Math.max(0, w - width(t)))
}

export const padStart = (s: string, w: number): string => {
  const t = truncate(s, w)
  return " ".repeat(Math.max(0, w - width(t))) + t
}

/** A DSC in [0, 1] as a percentage, as the paper reports them: 0.8450 -> `84.5`. */
export const dscPct = (dsc: number | null, digits = 1): string =>
  dsc === null || !Number.isFinite(dsc) ? "—" : (dsc * 100).toFixed(digits)

/**
 * Inter-iteration DSC in 4 columns (`.968`, `1.00`). Truncated, not rounded: 0.9896 must not
 * read `.990` beside a threshold of 0.99 it has not reached.
 */
export const interDsc = (x: number | null): string => {
  if (x === null || !Number.isFinite(x)) return "—"
  if (x >= 1) return "1.00"
  const t = Math.floor(Math.max(0, x) * 1000) / 1000
  return t.toFixed(3).slice(1)
}

/** Mean ± std in percent with two decimals, the paper's Table 2 format: `84.50 ± 4.97`. */
export const meanStd = (mean: number, std: number): string => `${(mean * 100).toFixed(2)} ± ${(std * 100).toFixed(2)}`

/** Threshold t as written in the paper: 0.95 -> `0.95`, 0.9 -> `0.90`. */
export const threshold = (t: number): string => (Math.round(t * 100) === t * 100 ? t.toFixed(2) : String(t))

/** `42s`, `3m07s`, `1h02m`, `2d05h`. */
export const duration = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) return "—"
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`
  const h = Math.floor(m / 60)
  if (h < 24) return `${h}h${String(m % 60).padStart(2, "0")}m`
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, "0")}h`
}

/** Loss values: 3 significant decimals, compact for large or diverged values. */
export const loss = (x: number | null): string => {
  if (x === null) return "–"
  if (Number.isNaN(x)) return "NaN"
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf"
  if (Math.abs(x) >= 100) return x.toExponential(0)
  return x.toFixed(3)
}

/** Learning rate: `1e-4`, `3e-5`, `1.5e-3`. */
export const rate = (x: number): string => x.toExponential(1).replace(".0e", "e").replace("e+", "e")
