/** The last line: the keys, the quit question, or what happens after the user chose to leave. */
import type { RunPhase } from "../view-state.ts"
import { Line, type Segment } from "./line.tsx"

export type FooterMode =
  | {
      readonly _tag: "keys"
      readonly leave: "leave" | "interrupt"
      /** How the run ended, once it has (finished, failed, interrupted or stopped). */
      readonly ended: RunPhase | null
    }
  /** The UI leaves by itself now that the run has ended: no keys to offer any more. */
  | { readonly _tag: "left"; readonly ended: RunPhase }
  | { readonly _tag: "confirm-interrupt" }
  | { readonly _tag: "interrupting" }
  | { readonly _tag: "snapshot" }

const ended = (phase: RunPhase): Segment => ({
  text: `run ${phase === "done" ? "finished" : phase}`,
  color: phase === "done" ? "green" : "red",
  bold: true
})

export const Footer = ({ mode }: { readonly mode: FooterMode }) => {
  let segments: Segment[]
  switch (mode._tag) {
    case "keys":
      segments = [
        ...(mode.ended !== null ? [ended(mode.ended), { text: "  " }] : []),
        { text: "q", bold: true },
        { text: mode.leave === "leave" ? " leave  " : " interrupt  " },
        { text: "tab", bold: true },
        { text: " panel  " },
        { text: "↑↓ PgUp PgDn", bold: true },
        { text: " scroll  " },
        { text: "←→", bold: true },
        { text: " rounds" }
      ]
      break
    case "left":
      segments = [ended(mode.ended)]
      break
    case "confirm-interrupt":
      segments = [{ text: "interrupt the run? y/n", color: "yellow", bold: true }]
      break
    case "interrupting":
      segments = [{ text: "interrupting: the run stops at its next safe point and keeps finished work…", color: "magenta" }]
      break
    case "snapshot":
      segments = []
      break
  }
  return <Line segments={segments} />
}
