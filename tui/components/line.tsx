/** One terminal line made of styled segments, cut at the right edge instead of wrapping. */
import { Text } from "ink"
import type { NodeStatus } from "../../src/runtime/events.ts"
import type { CaseStatus, MessageLevel, RunPhase } from "../view-state.ts"

export interface Segment {
  readonly text: string
  readonly color?: string
  readonly bold?: boolean
  readonly dim?: boolean
  readonly inverse?: boolean
}

export const Line = ({ segments }: { readonly segments: ReadonlyArray<Segment | string> }) => (
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
  failed: { text: "✗", color: "red" }
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
