/**
 * Warnings, errors and log lines with what they concern (case, file, node), as a scrollable
 * panel and as the one-line strip under every panel that shows the latest warning or error.
 */
import { Box } from "ink"
import { duration } from "../format.ts"
import type { MessageView } from "../view-state.ts"
import { LEVEL_STYLE, Line, type Segment } from "./line.tsx"

const concernText = (m: MessageView): string =>
  [m.caseId, m.file, m.caseId === undefined && m.file === undefined ? m.key : undefined].filter((x) => x !== undefined).join(" · ")

export const messageSegments = (m: MessageView, startedAt: number | null): Segment[] => {
  const where = concernText(m)
  return [
    ...(startedAt !== null ? [{ text: `${duration(Math.max(0, m.at - startedAt)).padStart(6)} `, dim: true }] : []),
    LEVEL_STYLE[m.level],
    { text: " " },
    ...(where !== "" ? [{ text: `${where}: `, bold: true }] : []),
    { text: m.message, ...(m.level === "error" ? { color: "red" } : {}) },
    ...(m.hint !== undefined ? [{ text: `  hint: ${m.hint}`, color: "yellow" }] : [])
  ]
}

export interface MessagesPanelProps {
  readonly messages: ReadonlyArray<MessageView>
  readonly startedAt: number | null
  readonly offset: number
  readonly visible: number | null
}

export const MessagesPanel = ({ messages, startedAt, offset, visible }: MessagesPanelProps) => {
  if (messages.length === 0) return <Line segments={[{ text: "no warnings, errors or log lines", dim: true }]} />
  const shown = visible === null ? messages : messages.slice(offset, offset + visible)
  return (
    <Box flexDirection="column">
      {shown.map((m, i) => (
        <Line key={offset + i} segments={messageSegments(m, startedAt)} />
      ))}
    </Box>
  )
}

export interface MessageStripProps {
  readonly latest: MessageView | undefined
  readonly warnings: number
  readonly errors: number
}

/** `⚠ 2 ✗ 1 │ latest: ...`, drawn only when the run has warnings or errors. */
export const MessageStrip = ({ latest, warnings, errors }: MessageStripProps) => (
  <Line
    segments={[
      { text: `⚠ ${warnings}`, color: warnings > 0 ? "yellow" : "gray" },
      { text: " " },
      { text: `✗ ${errors}`, color: errors > 0 ? "red" : "gray" },
      { text: " │ ", dim: true },
      ...(latest !== undefined ? messageSegments(latest, null) : [])
    ]}
  />
)
