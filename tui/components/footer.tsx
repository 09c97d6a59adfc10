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
  | { readonly _tag: "confirm-interrupt" }
  | { readonly _tag: "interrupting" }
  | { readonly _tag: "snapshot" }

export const Footer = ({ mode }: { readonly mode: FooterMode }) => {
  let segments: Segment[]
  switch (mode._tag) {
    case "keys":
      segments = [
        ...(mode.ended !== null ? [{ text: `run ${mode.ended === "done" ? "finished" : mode.ended}  `, color: mode.ended === "done" ? "green" : "red", bold: true }] : []),
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
