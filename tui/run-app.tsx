/**
 * The interactive screen: reads the provider's state, owns what only the user decides (active
 * panel, scroll offsets, the quit question) and maps keys to it. q leaves; in a run this UI
 * owns, q first asks "interrupt the run? y/n" and Ctrl-C interrupts at once. Tab switches panels,
 * arrows and PgUp/PgDn scroll, ←→ move through the rounds, Home/End jump (End follows again).
 */
import { useApp, useInput, useStdin } from "ink"
import { useEffect, useReducer, useState } from "react"
import type { FooterMode } from "./components/footer.tsx"
import { autoPanel, maxRoundOffset, maxScroll, type Panel, PANELS, visibleItems } from "./layout.ts"
import { useRunState } from "./run-provider.tsx"
import { FOLLOW, offsetOf, RunView, type Scroll } from "./run-view.tsx"
import { useTerminalSize } from "./use-terminal-size.ts"

export interface RunAppProps {
  /** Present when this UI owns the run: called once when the user confirms the interrupt. */
  readonly onQuit?: () => void
  /** Leave by itself once the run has finished (the final frame stays on screen). */
  readonly exitWhenFinished: boolean
  readonly now?: () => number
  /** How often elapsed time and ETA are redrawn while nothing else happens. */
  readonly tickMs?: number
}

type Mode = "normal" | "confirm" | "interrupting"

const useTick = (ms: number | null): void => {
  const [, tick] = useReducer((n: number) => n + 1, 0)
  useEffect(() => {
    if (ms === null) return
    const id = setInterval(tick, ms)
    return () => clearInterval(id)
  }, [ms])
}

export const RunApp = ({ onQuit, exitWhenFinished, now = Date.now, tickMs = 1000 }: RunAppProps) => {
  const state = useRunState()
  const { exit } = useApp()
  const { isRawModeSupported } = useStdin()
  const { columns, rows } = useTerminalSize()
  const [chosen, setChosen] = useState<Panel | null>(null)
  const [scroll, setScroll] = useState<Scroll>(FOLLOW)
  const [roundOffset, setRoundOffset] = useState(0)
  const [mode, setMode] = useState<Mode>("normal")
  useTick(state.phase === "running" || state.phase === "waiting" ? tickMs : null)

  const panel = chosen ?? autoPanel(state)
  const over = state.finish !== null || state.phase === "stopped"
  const owns = onQuit !== undefined

  // Leaving on its own: the frame committed just before exit() is the one left on screen, so it
  // must not offer keys nobody is listening to any more.
  const leaving = over && (exitWhenFinished || mode === "interrupting")
  useEffect(() => {
    if (leaving) exit()
  }, [leaving, exit])

  const interrupt = () => {
    setMode("interrupting")
    onQuit?.()
  }

  const scrollTo = (to: number | null) =>
    setScroll((s) => ({ ...s, [panel]: to === null ? null : Math.max(0, Math.min(maxScroll(state, panel, rows), to)) }))

  useInput(
    (input, key) => {
      if (mode === "confirm") {
        if (input === "y" || input === "Y") interrupt()
        else if (input === "n" || input === "N" || key.escape) setMode("normal")
        return
      }
      if (key.ctrl && input === "c") {
        if (owns && !over && mode === "normal") interrupt()
        else exit()
        return
      }
      if (input === "q") {
        if (owns && !over && mode === "normal") setMode("confirm")
        else exit()
        return
      }
      const offset = offsetOf(state, panel, scroll, rows)
      const page = Math.max(1, visibleItems(state, panel, rows) - 1)
      if (key.tab) {
        const i = PANELS.indexOf(panel)
        setChosen(PANELS[(i + (key.shift ? PANELS.length - 1 : 1)) % PANELS.length]!)
      } else if (key.upArrow) scrollTo(offset - 1)
      else if (key.downArrow) scrollTo(offset + 1)
      else if (key.pageUp) scrollTo(offset - page)
      else if (key.pageDown) scrollTo(offset + page)
      else if (key.home) scrollTo(0)
      else if (key.end) scrollTo(null)
      else if (key.leftArrow) setRoundOffset((r) => Math.max(0, Math.min(r, maxRoundOffset(state, columns)) - 1))
      else if (key.rightArrow) setRoundOffset((r) => Math.min(maxRoundOffset(state, columns), r + 1))
    },
    { isActive: isRawModeSupported }
  )

  const footer: FooterMode = leaving
    ? { _tag: "left", ended: state.phase }
    : mode === "confirm"
      ? { _tag: "confirm-interrupt" }
      : mode === "interrupting" && !over
        ? { _tag: "interrupting" }
        : { _tag: "keys", leave: owns && !over ? "interrupt" : "leave", ended: over ? state.phase : null }

  return (
    <RunView
      state={state}
      now={now()}
      columns={columns}
      rows={rows}
      panel={panel}
      scroll={scroll}
      roundOffset={roundOffset}
      footer={footer}
    />
  )
}
