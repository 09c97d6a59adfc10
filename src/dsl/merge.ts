/**
 * How a variant (`extends: ./base.yaml`) combines with its base:
 * - mappings merge key by key, recursively; keys keep the base's order, new keys follow;
 * - a mapping whose `kind` differs from the base's (e.g. optimizer sgd -> adam) replaces it
 *   whole, so options of the old kind do not leak into the new one;
 * - lists replace the base's list whole (a list has no keys to merge by; to change one item,
 *   e.g. one stage of `test.stages`, use a path override: `set: { test.stages[2].converge-until.threshold: 0.95 }`);
 * - scalars, and null, replace (`saliency: null` removes the base's saliency transform).
 * Every node keeps its origin, so the result still points at the file that set each value.
 */
import { entry, get, type MapNode, type Node } from "./tree.ts"

const kindOf = (m: MapNode): unknown => {
  const k = get(m, "kind")
  return k?.kind === "scalar" ? k.value : undefined
}

export const merge = (base: Node, over: Node): Node => {
  if (base.kind !== "map" || over.kind !== "map") return over
  if (kindOf(base) !== kindOf(over) && get(over, "kind") !== undefined) return over
  const entries = base.entries.map((b) => {
    const o = entry(over, b.key)
    return o === undefined ? b : { key: b.key, keyOrigin: o.keyOrigin, value: merge(b.value, o.value) }
  })
  for (const o of over.entries) if (entry(base, o.key) === undefined) entries.push(o)
  return { kind: "map", entries, origin: over.origin }
}
