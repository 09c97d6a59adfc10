/** The terminal's size as a React hook, for the run and prediction screens. */
import { useStdout } from "ink"
import { useEffect, useReducer } from "react"

/** Terminal size, redrawn on resize. Ink's test stdout has no rows: assume a classic 24. */
export const useTerminalSize = (): { columns: number; rows: number } => {
  const { stdout } = useStdout()
  const [, redraw] = useReducer((n: number) => n + 1, 0)
  useEffect(() => {
    stdout.on("resize", redraw)
    return () => {
      stdout.off("resize", redraw)
    }
  }, [stdout])
  return { columns: stdout.columns || 80, rows: stdout.rows || 24 }
}
