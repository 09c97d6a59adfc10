/** The panel tabs; tab cycles through them. */
import type { Panel } from "../layout.ts"
import { Line, type Segment } from "./line.tsx"

export interface TabBarProps {
  readonly active: Panel
  readonly counts: Readonly<Record<Panel, string>>
  /** Shown after the tabs, e.g. which rows of a scrolled panel are on screen. */
  readonly note: string
}

const TITLES: Readonly<Record<Panel, string>> = { training: "Training", cases: "Cases", messages: "Messages" }

export const TabBar = ({ active, counts, note }: TabBarProps) => {
  const segments: Segment[] = []
  for (const p of ["training", "cases", "messages"] as const) {
    const text = ` ${TITLES[p]}${counts[p] ? ` ${counts[p]}` : ""} `
    segments.push(p === active ? { text, inverse: true, bold: true } : { text, dim: true })
    segments.push({ text: " " })
  }
  if (note !== "") segments.push({ text: ` ${note}`, color: "gray" })
  return <Line segments={segments} />
}
