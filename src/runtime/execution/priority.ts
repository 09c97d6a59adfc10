/**
 * Which ready node to start first when several slots run at once. With one slot the order does
 * not change the wall time, and the graph's own order is kept (the same order every run, which
 * logs and tests rely on). With more, a long chain started late finishes late however many
 * workers are idle, so nodes are ranked by the longest chain of estimated work that still hangs
 * on them (their "upward rank", the list-scheduling rule of HLFET/HEFT), ties in graph order.
 */
import type { Graph } from "../graph.ts"

/** Estimated work of a node, in the graph's own units (`NodeSpec.cost`, default 1). */
const costOf = (n: { readonly cost?: number }): number => (n.cost !== undefined && Number.isFinite(n.cost) && n.cost > 0 ? n.cost : 1)

/** Each node's upward rank: its cost plus the largest rank among its dependents. */
export const upwardRanks = <E, R>(graph: Graph<E, R>): ReadonlyMap<string, number> => {
  const rank = new Map<string, number>()
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i]!
    const below = Math.max(0, ...(graph.dependents.get(n.id) ?? []).map((d) => rank.get(d)!))
    rank.set(n.id, costOf(n) + below)
  }
  return rank
}

/**
 * A comparison of graph indices for the ready queue: graph order with one slot, else the higher
 * upward rank first, then graph order.
 */
export const readyOrder = <E, R>(graph: Graph<E, R>, slots: number): ((a: number, b: number) => number) => {
  if (slots <= 1) return (a, b) => a - b
  const ranks = upwardRanks(graph)
  const rankAt = graph.nodes.map((n) => ranks.get(n.id)!)
  return (a, b) => rankAt[b]! - rankAt[a]! || a - b
}
