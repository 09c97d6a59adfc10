/**
 * The one place where failures become text for a user. Tagged errors carry the fields a user
 * needs (file, place, fix); this renders them without stack traces. Anything untagged is a bug
 * and is shown with its stack.
 */

interface Located {
  readonly file: string
  readonly line: number
  readonly col: number
  readonly message: string
  readonly hint?: string
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/** Errors that hold several located problems (e.g. a pipeline file) expose them as `diagnostics`. */
const diagnosticsOf = (e: Record<string, unknown>): ReadonlyArray<Located> | undefined =>
  Array.isArray(e.diagnostics) ? (e.diagnostics as Located[]) : undefined

export const renderLocated = (d: Located): string =>
  `${d.file}:${d.line}:${d.col}: ${d.message}${d.hint ? ` (${d.hint})` : ""}`

export const renderError = (error: unknown): string => {
  if (isRecord(error) && typeof error._tag === "string") {
    const diags = diagnosticsOf(error)
    if (diags && diags.length > 0) return diags.map(renderLocated).join("\n")
    const message = typeof error.message === "string" && error.message !== "" ? error.message : error._tag
    const hint = typeof error.hint === "string" ? `\n  hint: ${error.hint}` : ""
    return `rstn: ${message}${hint}`
  }
  if (error instanceof Error) return `rstn: internal error: ${error.stack ?? error.message}`
  return `rstn: internal error: ${String(error)}`
}
