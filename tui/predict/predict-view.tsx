/**
 * The prediction screen: each finished case once, in `<Static>` (it scrolls away with the
 * terminal), and below it the case running with a progress bar over the cases, its coarse time
 * and every round's inter-iteration DSC as they come.
 */
import { Box, Static, Text } from "ink"
import { duration, interDsc } from "../format.ts"
import { progressBar } from "../progress-bar.ts"
import type { FinishedCase, PredictState } from "./predict-state.ts"

const STATUS: Readonly<Record<FinishedCase["status"], { readonly glyph: string; readonly color: string }>> = {
  done: { glyph: "✓", color: "green" },
  skipped: { glyph: "·", color: "gray" },
  failed: { glyph: "✗", color: "red" }
}

const FinishedLine = ({ c }: { readonly c: FinishedCase }) => (
  <Text wrap="truncate-end">
    <Text color={STATUS[c.status].color}>{STATUS[c.status].glyph} </Text>
    <Text bold>{c.id}</Text>
    {c.status === "done"
      ? ` ${c.rounds} round${c.rounds === 1 ? "" : "s"}, ${c.reached ? "reached t" : "t not reached"}, ${duration(c.ms ?? 0)}  ${c.detail}`
      : ` ${c.detail}`}
  </Text>
)

export const PredictView = ({ state, columns }: { readonly state: PredictState; readonly columns: number }) => {
  const h = state.header
  const total = h?.cases ?? 0
  const handled = state.finished.length - (h?.inputErrors ?? 0)
  const r = state.running
  return (
    <Box flexDirection="column">
      <Static items={[...(h ? [{ key: "header", h }] : []), ...state.finished.map((c, i) => ({ key: `${i}`, c }))]}>
        {(item) =>
          "h" in item ? (
            <Text key={item.key} wrap="truncate-end">
              <Text bold>rstn predict</Text> {item.h.model} · fold{item.h.folds.length > 1 ? "s" : ""} {item.h.folds.join(", ")} · views {item.h.views.join("")} ·{" "}
              {item.h.backend} → {item.h.outDir}
            </Text>
          ) : (
            <FinishedLine key={item.key} c={item.c} />
          )
        }
      </Static>
      {state.summary === null && h !== null ? (
        <Box flexDirection="column">
          <Text>
            {progressBar(total === 0 ? 1 : Math.max(0, handled) / total, Math.max(10, Math.min(40, columns - 30)))} {Math.max(0, handled)}/{total} cases
          </Text>
          {r ? (
            <Text wrap="truncate-end">
              <Text color="cyan">▸ </Text>
              <Text bold>{r.id}</Text> coarse {r.coarseMs === null ? "…" : duration(r.coarseMs)}
              {r.rounds.map((x) => `  r${x.round} ${interDsc(x.interDsc)} (${duration(x.ms)})`).join("")}
            </Text>
          ) : null}
        </Box>
      ) : null}
      {state.summary ? (
        <Text>
          {state.summary.interrupted ? <Text color="yellow">interrupted: the same command continues. </Text> : null}
          {state.summary.done} predicted, {state.summary.skipped} skipped, <Text color={state.summary.failed > 0 ? "red" : undefined}>{state.summary.failed} failed</Text> in{" "}
          {duration(state.summary.ms)}
        </Text>
      ) : null}
    </Box>
  )
}
