/**
 * A YAML value that remembers where each part came from. Pipelines are merged from several files
 * (`extends`) and flags (`--set`) before they are checked, so positions cannot be looked up in
 * any single YAML document afterwards; every node carries its own origin instead, and an error
 * found in the merged value points at the real line of the real file.
 */
import type { Origin } from "./diagnostic.ts"

export type Scalar = string | number | boolean | null
export type PathSegment = string | number
export type Path = ReadonlyArray<PathSegment>

export interface ScalarNode {
  readonly kind: "scalar"
  readonly value: Scalar
  readonly origin: Origin
  /** A number as written, when its value differs (9007199254740993 reads as ...992). */
  readonly text?: string
}
export interface Entry {
  readonly key: string
  readonly keyOrigin: Origin
  readonly value: Node
}
export interface MapNode {
  readonly kind: "map"
  readonly entries: ReadonlyArray<Entry>
  readonly origin: Origin
}
export interface SeqNode {
  readonly kind: "seq"
  readonly items: ReadonlyArray<Node>
  readonly origin: Origin
}
export type Node = ScalarNode | MapNode | SeqNode

export const scalar = (value: Scalar, origin: Origin, text?: string): ScalarNode =>
  text === undefined ? { kind: "scalar", value, origin } : { kind: "scalar", value, origin, text }

/**
 * Each mapping's entries by key, built on first lookup: checks and diagnostics look keys up
 * once per problem, and a hostile file can hold tens of thousands of keys (a linear search each
 * time took minutes). Mappings are never mutated, so the index stays right.
 */
const indexes = new WeakMap<MapNode, ReadonlyMap<string, Entry>>()

export const entry = (map: MapNode, key: string): Entry | undefined => {
  if (map.entries.length < 16) return map.entries.find((e) => e.key === key)
  let index = indexes.get(map)
  if (index === undefined) {
    const byKey = new Map<string, Entry>()
    // The first of repeated keys counts, as the parser reports the others.
    for (const e of map.entries) if (!byKey.has(e.key)) byKey.set(e.key, e)
    indexes.set(map, (index = byKey))
  }
  return index.get(key)
}

export const get = (map: MapNode, key: string): Node | undefined => entry(map, key)?.value

export const without = (map: MapNode, ...keys: ReadonlyArray<string>): MapNode => ({
  ...map,
  entries: map.entries.filter((e) => !keys.includes(e.key))
})

/** The plain value the schema decodes. */
export const toPlain = (node: Node): unknown => {
  switch (node.kind) {
    case "scalar":
      return node.value
    case "seq":
      return node.items.map(toPlain)
    case "map": {
      const out: Record<string, unknown> = {}
      // Every key is data: `out["__proto__"] = ...` would set the object's prototype (and a
      // `__proto__: { name: x }` would supply a missing name), so keys are defined, not assigned.
      for (const e of node.entries) Object.defineProperty(out, e.key, { value: toPlain(e.value), enumerable: true, writable: true, configurable: true })
      return out
    }
  }
}

/** The node at a path, if the path exists. */
export const at = (root: Node, path: Path): Node | undefined => {
  let node: Node | undefined = root
  for (const seg of path) {
    if (node === undefined) return undefined
    if (node.kind === "map" && typeof seg === "string") node = get(node, seg)
    else if (node.kind === "seq" && typeof seg === "number") node = node.items[seg]
    else return undefined
  }
  return node
}

/**
 * Where to point for a path: the value's origin, or with `key: true` the origin of the key that
 * names it (for unknown keys). A path that does not exist (a missing key) points at the deepest
 * existing ancestor's key, where the user would add it.
 */
export const locate = (root: MapNode, path: Path, options: { readonly key?: boolean } = {}): Origin => {
  let node: Node = root
  let origin: Origin = root.origin
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!
    if (node.kind === "map" && typeof seg === "string") {
      const e = entry(node, seg)
      if (e === undefined) return origin
      origin = options.key === true && i === path.length - 1 ? e.keyOrigin : e.value.origin
      // A missing key deeper down is reported at this key, not at its value's first line.
      if (i < path.length - 1 && at(e.value, path.slice(i + 1, i + 2)) === undefined) return e.keyOrigin
      node = e.value
    } else if (node.kind === "seq" && typeof seg === "number" && seg < node.items.length) {
      node = node.items[seg]!
      origin = node.origin
    } else {
      return origin
    }
  }
  return origin
}

/** `training.phases[2].name` */
export const formatPath = (path: Path): string =>
  path.reduce<string>((acc, seg) => (typeof seg === "number" ? `${acc}[${seg}]` : acc === "" ? seg : `${acc}.${seg}`), "")

/**
 * A string for a message, quoted: a long one (a whole misplaced document, a pasted blob, a key
 * of a million characters) by its start only, so one problem stays one line.
 */
export const quoteShort = (s: string, quote: "'" | '"' = "'"): string => {
  const shown = s.length > 60 ? s.slice(0, 40) : s
  const quoted = quote === '"' ? JSON.stringify(shown) : `'${shown}'`
  return s.length > 60 ? `${quoted.slice(0, -1)}...${quote} (${s.length} characters)` : quoted
}

/** Short description of a plain value for "got ..." in messages. */
export const describeValue = (u: unknown): string => {
  if (u === null) return "null"
  if (u === undefined) return "nothing"
  if (typeof u === "string") return quoteShort(u, '"')
  if (typeof u === "number" || typeof u === "boolean") return String(u)
  if (Array.isArray(u)) return u.length === 0 ? "an empty list" : "a list"
  if (typeof u === "object") return "a mapping"
  return typeof u
}

export const describeNode = (node: Node): string =>
  node.kind === "scalar" ? describeValue(node.value) : node.kind === "seq" ? "a list" : "a mapping"
