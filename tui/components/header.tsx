/** Two header lines: what runs where, elapsed time and ETA; then the run's state. */
import { Box } from "ink"
import type { Eta } from "../eta.ts"
import { duration, meanStd, padEnd, truncate, width } from "../format.ts"
import type { Finish, RunInfo, RunPhase, ViewState } from "../view-state.ts"
import { Line, PHASE_STYLE, type Segment } from "./line.tsx"

export interface HeaderProps {
  readonly run: RunInfo | null
  readonly phase: RunPhase
  readonly attempt: number
  readonly elapsedMs: number | null
  readonly eta: Eta | null
  readonly finish: Finish | null
  readonly stopped: ViewState["stopped"]
  readonly columns: number
}

const clock = (elapsedMs: number | null, eta: Eta | null, phase: RunPhase): string => {
  const parts: string[] = []
  if (elapsedMs !== null) parts.push(`elapsed ${duration(elapsedMs)}`)
  // A lower bound under a second says nothing (it is what a run whose pending work has not been
  // priced yet shows): no estimate rather than "≥0s".
  const known = eta !== null && !(eta.lowerBound && eta.remainingMs < 1000)
  if (phase === "running") parts.push(known ? `ETA ${eta.lowerBound ? "≥" : ""}${duration(eta.remainingMs)}` : "ETA —")
  return parts.join("  ")
}

export const Header = ({ run, phase, attempt, elapsedMs, eta, finish, stopped, columns }: HeaderProps) => {
  const right = clock(elapsedMs, eta, phase)
  const leftWidth = Math.max(10, columns - width(right) - 1)
  const title = run === null ? "rstn" : `rstn  ${run.pipeline}  ·  ${run.backend}  ·  ${run.runDir}`
  const second: Segment[] = [PHASE_STYLE[phase]]
  if (run !== null) {
    if (attempt > 1) second.push({ text: `  attempt ${attempt}`, color: "cyan" })
    second.push({ text: `  ${run.file}`, dim: true })
    // The reason lists every backend tried before the one chosen (`X is not installed; ...;
    // using wasm (SIMD, 1 thread)`): its last clause, what runs, is the part worth a line.
    const chosen = run.backendReason.split(";").at(-1)!.trim()
    if (chosen !== "") second.push({ text: `  backend: ${chosen}`, dim: true })
  }
  if (finish?.summary) second.splice(1, 0, { text: `  final DSC ${meanStd(finish.summary.mean, finish.summary.std)}`, bold: true })
  if (finish?.resumeHint) second.splice(1, 0, { text: `  ${finish.resumeHint}`, color: "yellow" })
  if (stopped !== null) second.splice(1, 0, { text: `  ${stopped.reason}`, color: "red" })
  return (
    <Box flexDirection="column">
      <Line segments={[{ text: padEnd(truncate(title, leftWidth), leftWidth), bold: true }, " ", { text: right, color: "cyan" }]} />
      <Line segments={second} />
    </Box>
  )
}
