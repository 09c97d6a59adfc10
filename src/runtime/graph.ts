/**
 * The compiled graph: nodes checked (ids, dependencies, one cycle check), put in topological
 * order, and given their content keys. A node's key is the sha256 of exactly its kind, its
 * canonical configuration, its inputs' keys and the engine version it runs (when it runs any),
 * so a change anywhere upstream changes every key downstream of it and nothing else.
 */
import { Data, Either } from "effect"
import { createHash } from "node:crypto"
import { type Json, normalize, stringifyCanonical } from "./canonical-json.ts"
import type { NodeKey, NodeSpec } from "./node.ts"

export class GraphError extends Data.TaggedError("GraphError")<{
  readonly reason: string
  /** The node ids concerned. */
  readonly nodes: ReadonlyArray<string>
  readonly hint?: string
}> {
  override get message(): string {
    return `invalid pipeline graph: ${this.reason}`
  }
}

export interface GraphNode<E = unknown, R = never> extends NodeSpec<E, R> {
  readonly key: NodeKey
  /** `spec.config` in canonical form. */
  readonly configJson: Json
  /** The deps' keys, in `deps` order. */
  readonly depKeys: ReadonlyArray<NodeKey>
}

export interface Graph<E = unknown, R = never> {
  /** Topological order: every node after all of its deps; ties keep the order given. */
  readonly nodes: ReadonlyArray<GraphNode<E, R>>
  readonly byId: ReadonlyMap<string, GraphNode<E, R>>
  /** Direct dependents of each node. */
  readonly dependents: ReadonlyMap<string, ReadonlyArray<string>>
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/

export const isValidId = (id: string): boolean => id.split("/").every((s) => SEGMENT.test(s))

export const nodeKey = (kind: string, config: Json, depKeys: ReadonlyArray<NodeKey>, engine?: number): NodeKey =>
  createHash("sha256")
    .update(stringifyCanonical({ kind, config, inputs: [...depKeys], ...(engine !== undefined ? { engine } : {}) }))
    .digest("hex") as NodeKey

/** A cycle among `ids` as `a -> b -> a`, found by depth-first search. */
const findCycle = (specs: ReadonlyMap<string, NodeSpec<unknown, unknown>>, ids: ReadonlyArray<string>): string[] => {
  const state = new Map<string, "open" | "done">()
  const stack: string[] = []
  const visit = (id: string): string[] | undefined => {
    state.set(id, "open")
    stack.push(id)
    for (const d of specs.get(id)!.deps) {
      if (state.get(d) === "open") return [...stack.slice(stack.indexOf(d)), d]
      if (!state.has(d)) {
        const c = visit(d)
        if (c) return c
      }
    }
    stack.pop()
    state.set(id, "done")
    return undefined
  }
  for (const id of ids) {
    if (!state.has(id)) {
      const c = visit(id)
      if (c) return c
    }
  }
  return [...ids]
}

export const make = <E, R>(specs: ReadonlyArray<NodeSpec<E, R>>): Either.Either<Graph<E, R>, GraphError> => {
  const fail = (reason: string, nodes: ReadonlyArray<string>, hint?: string) =>
    Either.left(new GraphError({ reason, nodes, hint }))
  const byId = new Map<string, NodeSpec<E, R>>()
  for (const s of specs) {
    if (!isValidId(s.id)) {
      return fail(`node id '${s.id}' is not a valid path`, [s.id], "ids are /-separated segments of letters, digits, '.', '_', '-', not starting with '.'")
    }
    if (byId.has(s.id)) return fail(`two nodes have the id '${s.id}'`, [s.id])
    byId.set(s.id, s)
  }
  // Ids name directories, and a node's directory holds only its own files.
  const sorted = [...byId.keys()].sort()
  for (let i = 0; i + 1 < sorted.length; i++) {
    if (sorted[i + 1]!.startsWith(`${sorted[i]}/`)) {
      return fail(`node id '${sorted[i]}' is a prefix of '${sorted[i + 1]}'`, [sorted[i]!, sorted[i + 1]!], "ids name directories: a node's id cannot be a folder of another node")
    }
  }
  for (const s of specs) {
    for (const d of s.deps) {
      if (!byId.has(d)) return fail(`node '${s.id}' depends on unknown node '${d}'`, [s.id, d])
    }
    if (new Set(s.deps).size !== s.deps.length) return fail(`node '${s.id}' lists a dependency twice`, [s.id])
  }
  // Kahn's algorithm, taking ready nodes in the order given so the order is deterministic.
  const indegree = new Map(specs.map((s) => [s.id, s.deps.length]))
  const dependents = new Map<string, string[]>(specs.map((s) => [s.id, []]))
  for (const s of specs) for (const d of s.deps) dependents.get(d)!.push(s.id)
  const position = new Map(specs.map((s, i) => [s.id, i]))
  const ready = specs.filter((s) => s.deps.length === 0).map((s) => s.id)
  const order: string[] = []
  while (ready.length > 0) {
    ready.sort((a, b) => position.get(a)! - position.get(b)!)
    const id = ready.shift()!
    order.push(id)
    for (const next of dependents.get(id)!) {
      const n = indegree.get(next)! - 1
      indegree.set(next, n)
      if (n === 0) ready.push(next)
    }
  }
  if (order.length < specs.length) {
    const left = specs.map((s) => s.id).filter((id) => !order.includes(id))
    const cycle = findCycle(byId as ReadonlyMap<string, NodeSpec<unknown, unknown>>, left)
    return fail(`dependency cycle ${cycle.join(" -> ")}`, cycle)
  }
  const nodes = new Map<string, GraphNode<E, R>>()
  const byKey = new Map<string, string>()
  for (const id of order) {
    const spec = byId.get(id)!
    const config = normalize(spec.config)
    if (Either.isLeft(config)) return fail(`node '${id}': ${config.left.message}`, [id])
    const depKeys = spec.deps.map((d) => nodes.get(d)!.key)
    const key = nodeKey(spec.kind, config.right, depKeys, spec.engine)
    const twin = byKey.get(key)
    if (twin !== undefined) {
      return fail(`nodes '${twin}' and '${id}' have the same kind, configuration and inputs`, [twin, id], "each node must read some configuration (e.g. its case or fold) that tells it apart")
    }
    byKey.set(key, id)
    nodes.set(id, { ...spec, key, configJson: config.right, depKeys })
  }
  return Either.right({ nodes: order.map((id) => nodes.get(id)!), byId: nodes, dependents })
}

/** Every node downstream of `ids` (not including them), in topological order. */
export const downstream = <E, R>(graph: Graph<E, R>, ids: Iterable<string>): ReadonlyArray<string> => {
  const seen = new Set<string>()
  const queue = [...ids]
  while (queue.length > 0) {
    for (const d of graph.dependents.get(queue.pop()!) ?? []) {
      if (!seen.has(d)) {
        seen.add(d)
        queue.push(d)
      }
    }
  }
  return graph.nodes.map((n) => n.id).filter((id) => seen.has(id))
}
