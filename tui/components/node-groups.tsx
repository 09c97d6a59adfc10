/**
 * Node counts per group of the graph (training, coarse testing, rounds, evaluation) by status,
 * and what runs now. Statuses are spelled out when the line fits (`12 done 1 cached 1 running`),
 * otherwise written with the glyphs the panels use (`✓12 ≡1 ▶1`).
 */
import type { NodeStatus } from "../../src/runtime/events.ts"
import { Box } from "ink"
import { duration, width } from "../format.ts"
import { GROUP_LONG_TITLE, GROUP_TITLE, type GroupSummary } from "../select.ts"
import type { NodeView } from "../view-state.ts"
import { Line, type Segment, STATUS_COLOR, STATUS_GLYPH } from "./line.tsx"

export interface NodeGroupsProps {
  readonly groups: ReadonlyArray<GroupSummary>
  readonly running: ReadonlyArray<NodeView>
  readonly now: number
  readonly columns: number
  /** Long group titles (the printed summary, where width is not scarce). */
  readonly long: boolean
  /** The run is still going: its counts will change. */
  readonly live: boolean
}

const ORDER: ReadonlyArray<NodeStatus> = ["done", "cached", "running", "failed", "pending", "skipped"]

const groupLine = (groups: ReadonlyArray<GroupSummary>, words: boolean, long: boolean): Segment[] => {
  const line: Segment[] = []
  groups.forEach((g, i) => {
    if (i > 0) line.push({ text: " │ ", dim: true })
    line.push({ text: (long ? GROUP_LONG_TITLE : GROUP_TITLE)[g.group], bold: true })
    for (const status of ORDER) {
      const n = g.counts[status]
      if (n > 0) line.push({ text: words ? ` ${n} ${status}` : ` ${STATUS_GLYPH[status]}${n}`, color: STATUS_COLOR[status] })
    }
  })
  return line
}

const textWidth = (segments: ReadonlyArray<Segment>): number => segments.reduce((w, s) => w + width(s.text), 0)

/**
 * The widest the spelled-out line gets while the run goes on: every group with nodes done,
 * running and pending at once (and its cached ones), each count as wide as the group's total.
 */
const widestWhileRunning = (groups: ReadonlyArray<GroupSummary>, long: boolean): number =>
  groups.reduce((w, g, i) => {
    const n = String(g.total).length
    const cached = g.counts.cached > 0 ? ` ${g.counts.cached} cached` : ""
    return w + (i > 0 ? 3 : 0) + width((long ? GROUP_LONG_TITLE : GROUP_TITLE)[g.group]) + n * 3 + " done running pending".length + 3 + cached.length
  }, 0)

export const NodeGroups = ({ groups, running, now, columns, long, live }: NodeGroupsProps) => {
  const spelled = groupLine(groups, true, long)
  // While the run goes on, words only if they always fit: a line that switched between words and
  // glyphs as counts grew a digit would jump about.
  const words = textWidth(spelled) <= columns && (!live || widestWhileRunning(groups, long) <= columns)
  const line = words ? spelled : groupLine(groups, false, long)
  const runningLine: Segment[] =
    running.length === 0
      ? [{ text: "nothing running", dim: true }]
      : [
          { text: "running: ", color: "yellow" },
          {
            text: running
              .map((n) => `${n.label}${n.worker !== undefined ? ` on ${n.worker}` : ""}${n.startedAt !== null ? ` (${duration(now - n.startedAt)})` : ""}`)
              .join("  ·  ")
          }
        ]
  return (
    <Box flexDirection="column">
      <Line segments={line.length ? line : [{ text: "no nodes planned yet", dim: true }]} />
      <Line segments={runningLine} />
    </Box>
  )
}
