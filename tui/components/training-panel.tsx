/**
 * Training, one row per (fold, view, phase) node: status, iteration with a progress bar, and the
 * coarse, fine and joint losses, each with a sparkline of its curve over the whole iteration
 * range (wider terminals get wider sparklines).
 */
import { Box } from "ink"
import { loss, padEnd, padStart, rate } from "../format.ts"
import { progressBar } from "../progress-bar.ts"
import type { TrainingRow } from "../select.ts"
import { sparkline } from "../sparkline.ts"
import type { LossHistory, TrainingView } from "../view-state.ts"
import { Line, type Segment, STATUS_COLOR, STATUS_GLYPH } from "./line.tsx"

export interface TrainingPanelProps {
  readonly rows: ReadonlyArray<TrainingRow>
  /** First row drawn. */
  readonly offset: number
  /** Rows drawn; null draws all. */
  readonly visible: number | null
  readonly columns: number
}

const NAME_WIDTH = 10
const LOSS_VALUE_WIDTH = 5

/** `f0 Z J` from progress, else from a label like `train fold 0 view Z phase J`. */
const rowName = (row: TrainingRow): string => {
  const p = row.progress
  if (p !== undefined) return `f${p.fold} ${p.view} ${p.phase}`
  const m = /fold\s+(\d+).*?view\s+(\S+).*?phase\s+(\S+)/i.exec(row.label)
  return m ? `f${m[1]} ${m[2]} ${m[3]}` : row.label
}

/**
 * Mean loss per bucket. Buckets between two reported ones (progress comes every few iterations)
 * carry the previous value so the curve has no holes; buckets past the latest stay empty.
 */
const curve = (h: LossHistory, which: "coarse" | "fine" | "joint"): Array<number | null> => {
  const last = h.count.findLastIndex((n) => n > 0)
  let carry: number | null = null
  return h[which].map((sum, b) => {
    if (h.count[b]! > 0) carry = sum / h.count[b]!
    return b <= last ? carry : null
  })
}

interface Geometry {
  readonly iterWidth: number
  readonly barWidth: number
  readonly sparkWidth: number
  readonly showRate: boolean
}

const geometry = (rows: ReadonlyArray<TrainingRow>, columns: number): Geometry => {
  const digits = Math.max(1, ...rows.map((r) => String(r.progress?.iterations ?? 0).length))
  // At least the width of its title, `iter`, for runs of single-digit iteration counts.
  const iterWidth = Math.max(4, 2 * digits + 1)
  const barWidth = Math.max(6, Math.min(30, Math.floor(columns / 8)))
  const showRate = columns >= 120
  const fixed = 2 + NAME_WIDTH + 1 + iterWidth + 1 + barWidth + 1 + 4 + 1 + (showRate ? 9 : 0)
  const sparkWidth = Math.max(2, Math.min(64, Math.floor((columns - fixed) / 3) - LOSS_VALUE_WIDTH - 3))
  return { iterWidth, barWidth, sparkWidth, showRate }
}

const lossBlock = (p: TrainingView, which: "coarse" | "fine" | "joint", g: Geometry): Segment[] => [
  { text: padStart(loss(p.losses[which]), LOSS_VALUE_WIDTH) },
  { text: " " },
  { text: padEnd(sparkline(curve(p.history, which), g.sparkWidth), g.sparkWidth), color: "cyan" },
  { text: "  " }
]

const rowSegments = (row: TrainingRow, g: Geometry): Segment[] => {
  const head: Segment[] = [
    { text: STATUS_GLYPH[row.status], color: STATUS_COLOR[row.status] },
    { text: " " },
    { text: padEnd(rowName(row), NAME_WIDTH), bold: row.status === "running" },
    { text: " " }
  ]
  const p = row.progress
  if (p === undefined) {
    return [...head, { text: row.status === "cached" ? "cached: trained weights reused" : row.status, color: STATUS_COLOR[row.status] }]
  }
  const fraction = p.iterations > 0 ? p.iteration / p.iterations : 0
  const finished = row.status === "done"
  return [
    ...head,
    { text: padStart(`${p.iteration}/${p.iterations}`, g.iterWidth) },
    { text: " " },
    { text: progressBar(finished ? 1 : fraction, g.barWidth), color: STATUS_COLOR[row.status] },
    { text: " " },
    { text: padStart(`${Math.floor((finished ? 1 : fraction) * 100)}%`, 4) },
    { text: " " },
    ...lossBlock(p, "coarse", g),
    ...lossBlock(p, "fine", g),
    ...lossBlock(p, "joint", g),
    ...(g.showRate ? [{ text: `lr ${rate(p.learningRate)}`, dim: true }] : [])
  ]
}

export const TrainingPanel = ({ rows, offset, visible, columns }: TrainingPanelProps) => {
  if (rows.length === 0) return <Line segments={[{ text: "no training nodes planned", dim: true }]} />
  const g = geometry(rows, columns)
  const shown = visible === null ? rows : rows.slice(offset, offset + visible)
  const lossTitle = (t: string) => padEnd(t, LOSS_VALUE_WIDTH + 1 + g.sparkWidth + 2)
  const header =
    "  " +
    padEnd("run", NAME_WIDTH) +
    " " +
    padStart(g.iterWidth >= 9 ? "iteration" : "iter", g.iterWidth) +
    " " +
    padEnd("progress", g.barWidth + 5) +
    " " +
    lossTitle("coarse") +
    lossTitle("fine") +
    lossTitle("joint") +
    (g.showRate ? padEnd("rate", 9) : "")
  return (
    <Box flexDirection="column">
      <Line segments={[{ text: header, dim: true }]} />
      {shown.map((r) => (
        <Line key={r.key} segments={rowSegments(r, g)} />
      ))}
    </Box>
  )
}
