/**
 * How the screen is divided, as pure arithmetic shared by the key handler (to clamp scrolling)
 * and the view (to draw): fixed lines for header, node groups, tabs, latest message and footer;
 * the rest for the active panel. A bounded frame stays one line short of the terminal's height,
 * because Ink clears the whole screen on every update once a frame fills it (flicker).
 */
import { lastRound } from "./select.ts"
import type { ViewState } from "./view-state.ts"

export type Panel = "training" | "cases" | "messages"
export const PANELS: ReadonlyArray<Panel> = ["training", "cases", "messages"]

/** Lines above the panel: 2 header, 1 node groups, 1 running nodes, 1 tab bar. */
export const LINES_ABOVE = 5
/** Lines below the panel: the latest warning/error (only when there is one) and the footer. */
export const linesBelow = (s: ViewState): number => (s.warningCount + s.errorCount > 0 ? 2 : 1)

/** Lines for the active panel's body, or null when the frame is unbounded (a printed summary). */
export const panelLines = (s: ViewState, rows: number | null): number | null =>
  rows === null ? null : Math.max(3, rows - 1 - LINES_ABOVE - linesBelow(s))

/** Lines of each panel that are not scrolled items (column headers, means, legend). */
export const PANEL_CHROME: Readonly<Record<Panel, number>> = { training: 1, cases: 4, messages: 0 }

export const itemCount = (s: ViewState, panel: Panel): number =>
  panel === "training"
    ? s.nodes.filter((n) => n.group === "training").length + [...s.training.keys()].filter((k) => !s.nodeIndex.has(k)).length
    : panel === "cases"
      ? s.cases.length
      : s.messages.length

/** Items of `panel` that fit on screen at once. */
export const visibleItems = (s: ViewState, panel: Panel, rows: number | null): number => {
  const lines = panelLines(s, rows)
  return lines === null ? Number.POSITIVE_INFINITY : Math.max(1, lines - PANEL_CHROME[panel])
}

/** Largest useful scroll offset: the last page shows the last item at the bottom. */
export const maxScroll = (s: ViewState, panel: Panel, rows: number | null): number =>
  Math.max(0, itemCount(s, panel) - Math.min(itemCount(s, panel), visibleItems(s, panel, rows)))

/** The panel shown until the user presses tab: the cases once testing has begun, else training. */
export const autoPanel = (s: ViewState): Panel => (s.cases.length > 0 ? "cases" : "training")

/** Case-table geometry: fixed columns on the left, then one column per coarse-to-fine round. */
export const CASE_ID_MAX = 14
export const caseIdWidth = (s: ViewState): number =>
  Math.min(CASE_ID_MAX, Math.max(4, ...s.cases.map((c) => [...c.caseId].length)))

/** Marks drawn per threshold t in round cells; the legend under the table explains them. */
export const MARKS = "¹²³⁴⁵⁶⁷⁸⁹"

/**
 * Width of one round cell: `DSC% inter` plus room for the most marks any cell carries, and never
 * narrower than the first round's title (`   r1 inter`) even when no t has been met.
 */
export const roundCellWidth = (s: ViewState): number => {
  let marks = 0
  for (const c of s.cases) for (const r of c.rounds) if (r !== undefined) marks = Math.max(marks, r.reached.length)
  return 5 + 1 + Math.max(5, 4 + marks)
}

/** Columns left of the rounds: status glyph, id, fold (` f0`), coarse, final, ` │`. */
export const caseFixedWidth = (s: ViewState): number => 2 + caseIdWidth(s) + 3 + 6 + 6 + 2

/** Coarse-to-fine rounds (1..last) drawn at once for a terminal `columns` wide. */
export const roundColumnsFitting = (s: ViewState, columns: number): number =>
  Math.max(1, Math.floor((columns - caseFixedWidth(s)) / (roundCellWidth(s) + 1)))

export const maxRoundOffset = (s: ViewState, columns: number): number =>
  Math.max(0, lastRound(s) - roundColumnsFitting(s, columns))
