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

/** The escapes of GitHub Actions workflow commands: in the message, and in a property value. */
const escapeData = (s: string): string => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A")
const escapeProperty = (s: string): string => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C")

/**
 * A located problem as a GitHub Actions annotation (`::error file=F,line=L,col=C::message`), which
 * the runner shows on that line of the pull request. A problem in a `--set` flag has no file to
 * attach to: it stays a plain error annotation that names the flag.
 */
export const renderAnnotation = (d: Located): string => {
  const message = `${d.message}${d.hint ? ` (${d.hint})` : ""}`
  if (d.file.startsWith("--set ") || d.file.startsWith("--grid ")) return `::error title=rstn validate::${escapeData(`${d.file}:${d.line}:${d.col}: ${message}`)}`
  return `::error file=${escapeProperty(d.file)},line=${d.line},col=${d.col},title=rstn validate::${escapeData(message)}`
}

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
