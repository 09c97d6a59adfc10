/**
 * Puts the prediction screen on a terminal: `publish` feeds it `rstn predict`'s events, `finish`
 * draws the last frame and leaves it on screen.
 */
import "../react-production.ts"
import { render } from "ink"
import { useEffect, useState } from "react"
import { useTerminalSize } from "../use-terminal-size.ts"
import type { PredictEvent } from "../../src/runtime/predict/events.ts"
import { initialPredictState, reducePredict, type PredictState } from "./predict-state.ts"
import { PredictView } from "./predict-view.tsx"

export interface PredictUi {
  readonly publish: (e: PredictEvent) => void
  readonly finish: () => Promise<void>
}

type Listener = (s: PredictState) => void

const App = ({ subscribe }: { readonly subscribe: (l: Listener) => () => void }) => {
  const [state, setState] = useState(initialPredictState)
  // A terminal that reports no width (0) gets 80 columns, and a resize redraws.
  const { columns } = useTerminalSize()
  useEffect(() => subscribe(setState), [subscribe])
  return <PredictView state={state} columns={columns} />
}

export const mountPredictUi = (stdout: NodeJS.WriteStream = process.stdout): PredictUi => {
  let state = initialPredictState
  const listeners = new Set<Listener>()
  const subscribe = (l: Listener) => {
    listeners.add(l)
    l(state)
    return () => void listeners.delete(l)
  }
  const instance = render(<App subscribe={subscribe} />, { stdout, exitOnCtrlC: true, patchConsole: true })
  return {
    publish: (e) => {
      state = reducePredict(state, e)
      for (const l of listeners) l(state)
    },
    finish: async () => {
      // One turn of the event loop, so React renders the last state before Ink leaves.
      await new Promise((resolve) => setTimeout(resolve, 50))
      instance.unmount()
      await instance.waitUntilExit()
    }
  }
}
