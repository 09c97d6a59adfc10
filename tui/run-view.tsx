/**
 * The whole screen for one view state, from props alone: header, node groups, the active panel
 * (or, for a printed summary with no height limit, every panel) and the footer. Scroll offsets
 * arrive as requested by the keys and are clamped here against the current geometry; `null`
 * means "follow" (the running training row, the running cases, the newest message).
 */
import { Box } from "ink"
import { CasesTable } from "./components/cases-table.tsx"
import { Footer, type FooterMode } from "./components/footer.tsx"
import { Header } from "./components/header.tsx"
import { Line } from "./components/line.tsx"
import { MessagesPanel, MessageStrip } from "./components/messages.tsx"
import { NodeGroups } from "./components/node-groups.tsx"
import { TabBar } from "./components/tab-bar.tsx"
import { TrainingPanel } from "./components/training-panel.tsx"
import { estimateEta } from "./eta.ts"
import {
  caseIdWidth,
  itemCount,
  maxRoundOffset,
  maxScroll,
  type Panel,
  roundCellWidth,
  roundColumnsFitting,
  visibleItems
} from "./layout.ts"
import {
  caseCounts,
  convergence,
  dscSummary,
  elapsedMs,
  groupSummaries,
  lastRound,
  roundMeans,
  runningNodes,
  trainingRows
} from "./select.ts"
import type { ViewState } from "./view-state.ts"

export type Scroll = Readonly<Record<Panel, number | null>>
export const FOLLOW: Scroll = { training: null, cases: null, messages: null }

export interface RunViewProps {
  readonly state: ViewState
  readonly now: number
  readonly columns: number
  /** Terminal height; null draws everything (the summary printed by `watch --once`). */
  readonly rows: number | null
  readonly panel: Panel
  readonly scroll: Scroll
  readonly roundOffset: number
  readonly footer: FooterMode
}

const clamp = (x: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, x))

/** Where a following panel stands: keeps the first item of interest on screen. */
const followOffset = (s: ViewState, panel: Panel, visible: number): number => {
  if (panel === "messages") return Math.max(0, s.messages.length - visible)
  const index =
    panel === "training"
      ? trainingRows(s).findIndex((r) => r.status === "running")
      : s.cases.findIndex((c) => c.status === "running")
  return index < 0 ? 0 : Math.max(0, index - visible + 2)
}

export const offsetOf = (s: ViewState, panel: Panel, scroll: Scroll, rows: number | null): number => {
  if (rows === null) return 0
  const visible = visibleItems(s, panel, rows)
  const wanted = scroll[panel] ?? followOffset(s, panel, visible)
  return clamp(wanted, 0, maxScroll(s, panel, rows))
}

export const RunView = ({ state: s, now: wallClock, columns, rows, panel, scroll, roundOffset, footer }: RunViewProps) => {
  // Once the run has ended, time stands still at its end: elapsed and running times stay put.
  const now = s.finish?.at ?? s.stopped?.at ?? wallClock
  const visible = (p: Panel) => (rows === null ? null : visibleItems(s, p, rows))
  const offset = (p: Panel) => offsetOf(s, p, scroll, rows)
  const fit = roundColumnsFitting(s, columns)
  const firstRound = 1 + clamp(roundOffset, 0, maxRoundOffset(s, columns))
  const lastShownRound = Math.min(lastRound(s), firstRound + fit - 1)
  const cc = caseCounts(s)
  const latest = [...s.messages].reverse().find((m) => m.level !== "log")

  const training = <TrainingPanel rows={trainingRows(s)} offset={offset("training")} visible={visible("training")} columns={columns} />
  const cases = (
    <CasesTable
      cases={s.cases}
      thresholds={s.run?.thresholds ?? []}
      offset={offset("cases")}
      visible={visible("cases")}
      firstRound={firstRound}
      lastRound={lastShownRound}
      idWidth={caseIdWidth(s)}
      cellWidth={roundCellWidth(s)}
      means={roundMeans(s)}
      summary={dscSummary(s)}
      convergence={convergence(s)}
    />
  )
  const messages = (
    <MessagesPanel messages={s.messages} startedAt={s.run?.startedAt ?? null} offset={offset("messages")} visible={visible("messages")} />
  )

  const notes: string[] = []
  const n = itemCount(s, panel)
  const v = visible(panel)
  if (v !== null && n > v) notes.push(`${offset(panel) + 1}–${offset(panel) + Math.min(v, n)} of ${n}`)
  if (panel === "cases" && lastRound(s) > lastShownRound - firstRound + 1 && lastShownRound >= firstRound) {
    notes.push(`rounds ${firstRound}–${lastShownRound} of ${lastRound(s)} (←→)`)
  }

  return (
    <Box flexDirection="column" width={columns}>
      <Header
        run={s.run}
        phase={s.phase}
        attempt={s.attempt}
        elapsedMs={elapsedMs(s, now)}
        eta={estimateEta(s, now)}
        finish={s.finish}
        stopped={s.stopped}
        columns={columns}
      />
      <NodeGroups
        groups={groupSummaries(s)}
        running={runningNodes(s)}
        now={now}
        columns={columns}
        long={rows === null}
        live={s.finish === null && s.stopped === null}
      />
      {rows === null ? (
        <>
          <Line segments={[{ text: "Training", bold: true, inverse: true }]} />
          {training}
          <Line
            segments={[
              { text: `Cases ${cc.done} done, ${cc.running} running, ${cc.failed} failed${cc.stopped > 0 ? `, ${cc.stopped} stopped` : ""}`, bold: true, inverse: true }
            ]}
          />
          {cases}
          {s.messages.length > 0 && <Line segments={[{ text: "Messages", bold: true, inverse: true }]} />}
          {s.messages.length > 0 && messages}
        </>
      ) : (
        <>
          <TabBar
            active={panel}
            counts={{
              training: "",
              // Of every case the run will test (one rounds node each), not only those seen so far.
              cases: s.cases.length > 0 ? `${cc.done}/${Math.max(s.cases.length, s.nodes.filter((n) => n.group === "rounds").length)}` : "",
              messages: s.messages.length > 0 ? String(s.messages.length) : ""
            }}
            note={notes.join("  ")}
          />
          {panel === "training" ? training : panel === "cases" ? cases : messages}
          {s.warningCount + s.errorCount > 0 && <MessageStrip latest={latest} warnings={s.warningCount} errors={s.errorCount} />}
        </>
      )}
      {footer._tag !== "snapshot" && <Footer mode={footer} />}
    </Box>
  )
}
