import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import * as Graph from "../../src/runtime/graph.ts"
import type { NodeSpec } from "../../src/runtime/node.ts"

const node = (id: string, deps: string[] = [], config: unknown = { id }, kind = "k"): NodeSpec<never, never> => ({
  id,
  kind,
  group: "training",
  label: id,
  deps,
  config,
  run: () => Effect.succeed({})
})

const make = (...specs: NodeSpec<never, never>[]) => Graph.make(specs)
const error = (...specs: NodeSpec<never, never>[]) => {
  const r = make(...specs)
  if (Either.isRight(r)) throw new Error("expected a GraphError")
  return r.left
}
const keys = (...specs: NodeSpec<never, never>[]) => Object.fromEntries(Either.getOrThrow(make(...specs)).nodes.map((n) => [n.id, n.key]))

describe("Graph.make", () => {
  it("orders nodes topologically, taking the earliest-given ready node first", () => {
    const g = Either.getOrThrow(make(node("d", ["b", "c"]), node("c", ["a"]), node("b", ["a"]), node("a"), node("e")))
    expect(g.nodes.map((n) => n.id)).toEqual(["a", "c", "b", "d", "e"])
    expect(g.dependents.get("a")).toEqual(["c", "b"])
    expect(Graph.downstream(g, ["a"])).toEqual(["c", "b", "d"])
  })

  it("reports a cycle with its path", () => {
    expect(error(node("a", ["c"]), node("b", ["a"]), node("c", ["b"]), node("x")).message).toBe(
      "invalid pipeline graph: dependency cycle a -> c -> b -> a"
    )
  })

  it.each([
    [[node("a"), node("a")], "two nodes have the id 'a'"],
    [[node("a", ["zz"])], "node 'a' depends on unknown node 'zz'"],
    [[node("a"), node("b", ["a", "a"])], "node 'b' lists a dependency twice"],
    [[node("train/../x")], "node id 'train/../x' is not a valid path"],
    [[node("train"), node("train/fold-0")], "node id 'train' is a prefix of 'train/fold-0'"],
    [[node("a", [], { lr: Number.NaN })], "node 'a': configuration value at lr cannot be hashed: NaN is not a finite number"],
    [[node("a", [], { same: 1 }), node("b", [], { same: 1 })], "nodes 'a' and 'b' have the same kind, configuration and inputs"]
  ])("rejects %#", (specs, reason) => {
    expect(error(...specs).reason).toBe(reason)
  })

  it("keys hash exactly kind, canonical config and inputs' keys", () => {
    const base = keys(node("a", [], { lr: 1, n: 2 }), node("b", ["a"]), node("c"))
    expect(base.a).toMatch(/^[0-9a-f]{64}$/)
    // key order and the node's id do not matter; the config does
    expect(keys(node("a", [], { n: 2, lr: 1.0 }), node("b", ["a"]), node("c")).a).toBe(base.a)
    expect(keys(node("renamed", [], { lr: 1, n: 2 })).renamed).toBe(base.a)
    const changed = keys(node("a", [], { lr: 2, n: 2 }), node("b", ["a"]), node("c"))
    expect([changed.a === base.a, changed.b === base.b, changed.c === base.c]).toEqual([false, false, true])
    expect(keys(node("a", [], { lr: 1, n: 2 }, "other")).a).not.toBe(base.a)
  })
})
