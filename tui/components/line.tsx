/** One terminal line made of styled segments, cut at the right edge instead of wrapping. */
import { Text } from "ink"
import { memo } from "react"
import type { NodeStatus } from "../../src/runtime/events.ts"
import type { CaseStatus, MessageLevel, RunPhase } from "../view-state.ts"

export interface Segment {
  readonly text: string
  readonly color?: string
  readonly bold?: boolean
  readonly dim?: boolean
  readonly inverse?: boolean
}

interface LineProps {
  readonly segments: ReadonlyArray<Segment | string>
}

const sameSegment = (a: Segment | string, b: Segment | string): boolean =>
  typeof a === "string" || typeof b === "string"
    ? a === b
    : a.text === b.text && a.color === b.color && a.bold === b.bold && a.dim === b.dim && a.inverse === b.inverse

const sameSegments = (a: LineProps, b: LineProps): boolean =>
  a.segments.length === b.segments.length && a.segments.every((s, i) => sameSegment(s, b.segments[i]!))

const LineText = ({ segments }: LineProps) => (
  <Text wrap="truncate-end">
    {segments.length === 0
      ? " "
      : segments.map((s, i) =>
          typeof s === "string" ? (
            <Text key={i}>{s}</Text>
          ) : (
            <Text
              key={i}
              {...(s.color !== undefined ? { color: s.color } : {})}
              bold={s.bold ?? false}
              dimColor={s.dim ?? false}
              inverse={s.inverse ?? false}
            >
              {s.text}
            </Text>
          )
        )}
  </Text>
)

/**
 * Most lines are the same from one frame to the next (finished training rows, finished cases):
 * compared by content, they are not rendered again (about a tenth of a frame's cost on the
 * demo's event stream; the rest is Ink drawing the whole screen).
 */
export const Line = memo(LineText, sameSegments)

export const STATUS_COLOR: Readonly<Record<NodeStatus, string>> = {
  pending: "gray",
  running: "yellow",
  cached: "cyan",
  done: "green",
  failed: "red",
  skipped: "gray"
}

/** One-column status glyphs; the node-group line spells the statuses out. */
export const STATUS_GLYPH: Readonly<Record<NodeStatus, string>> = {
  pending: "·",
  running: "▶",
  cached: "≡",
  done: "✓",
  failed: "✗",
  skipped: "–"
}

export const CASE_GLYPH: Readonly<Record<CaseStatus, Segment>> = {
  running: { text: "▶", color: "yellow" },
  done: { text: "✓", color: "green" },
  failed: { text: "✗", color: "red" },
  stopped: { text: "■", color: "magenta" }
}

export const PHASE_STYLE: Readonly<Record<RunPhase, Segment>> = {
  waiting: { text: "waiting for the run to start", color: "gray" },
  running: { text: "● running", color: "yellow", bold: true },
  done: { text: "✓ done", color: "green", bold: true },
  failed: { text: "✗ failed", color: "red", bold: true },
  interrupted: { text: "■ interrupted", color: "magenta", bold: true },
  stopped: { text: "■ stopped", color: "red", bold: true }
}

export const LEVEL_STYLE: Readonly<Record<MessageLevel, Segment>> = {
  log: { text: "·", color: "gray" },
  warning: { text: "⚠", color: "yellow" },
  error: { text: "✗", color: "red" }
}
