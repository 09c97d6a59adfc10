/**
 * The order ready nodes start in: graph order with one slot (what a run always did), the longest
 * remaining chain of estimated work first with several (so three views training on two workers
 * do not leave the last view's whole chain to run alone at the end).
 */
import { describe, expect, it } from "vitest"
import { readyOrder, upwardRanks } from "../../../src/runtime/execution/priority.ts"
import { build, sum } from "../fixtures/test-nodes.ts"

/** Three chains S -> I -> J (J the longest) feeding one test node, as the demo's views do. */
const chains = () =>
  build([
    ...["X", "Y", "Z"].flatMap((v) => [
      { ...sum(`${v}/S`, 1, [], { view: v }), cost: 75 },
      { ...sum(`${v}/I`, 1, [`${v}/S`]), cost: 75 },
      { ...sum(`${v}/J`, 1, [`${v}/I`]), cost: 200 }
    ]),
    { ...sum("test", 1, ["X/J", "Y/J", "Z/J"]), cost: 12 }
  ])

describe("ready order", () => {
  it("ranks a node by its cost plus the longest rank among its dependents", () => {
    const ranks = upwardRanks(chains())
    expect(ranks.get("test")).toBe(12)
    expect(ranks.get("X/J")).toBe(212)
    expect(ranks.get("Z/S")).toBe(362)
  })

  it("keeps graph order with one slot", () => {
    const g = chains()
    const order = readyOrder(g, 1)
    const index = (id: string) => g.nodes.findIndex((n) => n.id === id)
    expect([index("Z/S"), index("X/I")].sort(order)).toEqual([index("X/I"), index("Z/S")].sort((a, b) => a - b))
  })

  it("starts the node with the longest remaining chain first with several slots, ties in graph order", () => {
    const g = chains()
    const order = readyOrder(g, 2)
    const index = (id: string) => g.nodes.findIndex((n) => n.id === id)
    // X/S finished: X/I (rank 287) waits behind Z/S (rank 362), which starts view Z's chain early.
    expect([index("X/I"), index("Z/S")].sort(order)).toEqual([index("Z/S"), index("X/I")])
    expect([index("Z/S"), index("Y/S")].sort(order)).toEqual([index("Y/S"), index("Z/S")])
  })
})
