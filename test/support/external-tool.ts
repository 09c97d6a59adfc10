/**
 * Tests that need a tool from outside npm (Debian's nibabel, nifti_tool, tmux). On a developer's
 * fresh machine a missing tool skips them with a notice naming the package; under CI=true, where
 * .ci/run installs every tool, it fails them, so CI can never pass by skipping.
 */

/** A tool the tests need: how to tell that it is missing, and how to install it. */
export interface ExternalTool {
  /** null when the tool works; otherwise why not. */
  readonly problem: () => string | null
  /** e.g. "apt-get install tmux". */
  readonly install: string
}

const missing = (tool: ExternalTool): string | null => {
  const p = tool.problem()
  return p === null ? null : `${p}; install it with \`${tool.install}\` (.ci/run does)`
}

/** Throws the tool's problem: for a beforeAll, so a CI run without the tool fails saying why. */
export const requireTool = (tool: ExternalTool): void => {
  const p = missing(tool)
  if (p !== null) throw new Error(p)
}

/** Whether the tests needing `tool` run here; prints the notice when they are skipped. */
export const toolRuns = (tool: ExternalTool, what: string): boolean => {
  const p = missing(tool)
  if (p === null || process.env.CI === "true") return true
  console.warn(`[skipped] ${what}: ${p}`)
  return false
}
