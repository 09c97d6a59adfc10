/**
 * Path overrides: `--set training.batch-size=4` on the command line and `set:` blocks in
 * variant files. A path is dot-separated keys with list indices as `[2]` or `.2`
 * (`test.stages[2].converge-until.threshold`); the value is YAML (a scalar or a flow
 * collection: `--set views=[X,Z]`). Overrides apply after `extends` merging and go through the
 * same schema and checks as files; a value from a flag remembers the flag as its origin, so its
 * errors name the flag.
 */
import * as Either from "effect/Either"
import { LineCounter, type Node as YamlNode } from "yaml"
import { type Diagnostic, diagnostic, type Origin } from "./diagnostic.ts"
import { convert, yamlProblems } from "./source.ts"
import { describeNode, entry, formatPath, type MapNode, type Node, type Path, type PathSegment, scalar } from "./tree.ts"
import { MAX_DEPTH, MAX_VALUES, parseYaml } from "./yaml-parse.ts"

export interface PathError {
  readonly message: string
  /** 0-based offset of the problem in the path text. */
  readonly offset: number
}

/** `a.b[2].c` or `a.b.2.c` -> ["a", "b", 2, "c"]. */
export const parsePath = (text: string): Either.Either<{ readonly path: Path; readonly offsets: ReadonlyArray<number> }, PathError> => {
  const path: PathSegment[] = []
  const offsets: number[] = []
  const re = /([A-Za-z0-9_-]+)|\[(\d+)\]/y
  let i = 0
  let expectName = true
  while (i < text.length) {
    if (!expectName && text[i] === ".") {
      i++
      expectName = true
      continue
    }
    re.lastIndex = i
    const m = re.exec(text)
    if (m === null || (m[2] === undefined && !expectName)) {
      return Either.left({ message: `bad path '${text}' at '${text.slice(i)}'`, offset: i })
    }
    offsets.push(i)
    if (m[2] !== undefined) path.push(Number(m[2]))
    else path.push(/^\d+$/.test(m[1]!) ? Number(m[1]) : m[1]!)
    i = re.lastIndex
    expectName = false
  }
  if (path.length === 0 || expectName) return Either.left({ message: `bad path '${text}'${text === "" ? "" : ": it ends with '.'"}`, offset: Math.max(0, text.length - 1) })
  return Either.right({ path, offsets })
}

/**
 * Sets a value at a path. Missing mappings on the way (or a null, e.g. `saliency: null`) are
 * created; a list index must exist. `at(i)` is the origin of path segment i (for keys created).
 */
export const setPath = (
  root: MapNode,
  path: Path,
  value: Node,
  at: (i: number) => Origin
): Either.Either<MapNode, string> => {
  // A key the path goes through that is not written yet: created as an empty mapping.
  const ABSENT: Node = { kind: "map", entries: [], origin: at(0) }
  const go = (node: Node, i: number): Either.Either<Node, string> => {
    const seg = path[i]!
    const here = formatPath(path.slice(0, i))
    const last = i === path.length - 1
    if (node === ABSENT && typeof seg === "number") {
      return Either.left(`${here} is not written in the file (it has its default), so it has no item [${seg}] to change`)
    }
    if (node === ABSENT || (node.kind === "scalar" && node.value === null && typeof seg === "string")) node = { kind: "map", entries: [], origin: at(i) }
    // A stage written by its bare name (`- coarse`) is the mapping `coarse: {}`.
    if (node.kind === "scalar" && typeof seg === "string" && node.value === seg && !last) {
      node = { kind: "map", entries: [{ key: seg, keyOrigin: node.origin, value: { kind: "map", entries: [], origin: node.origin } }], origin: node.origin }
    }
    if (node.kind === "map") {
      if (typeof seg !== "string") return Either.left(`${here === "" ? "the pipeline" : here} is a mapping; use a key, not [${seg}]`)
      const e = entry(node, seg)
      const next = last ? Either.right(value) : go(e?.value ?? ABSENT, i + 1)
      return Either.map(next, (v): Node => {
        const replaced = { key: seg, keyOrigin: e?.keyOrigin ?? at(i), value: v }
        return {
          ...node,
          entries: e === undefined ? [...(node as MapNode).entries, replaced] : (node as MapNode).entries.map((x) => (x.key === seg ? replaced : x))
        } as MapNode
      })
    }
    if (node.kind === "seq") {
      if (typeof seg !== "number") return Either.left(`${here} is a list; use an index like ${here}[0]`)
      if (seg >= node.items.length) return Either.left(`index ${seg} is out of range: ${here} has ${node.items.length} item${node.items.length === 1 ? "" : "s"}`)
      const next = last ? Either.right(value) : go(node.items[seg]!, i + 1)
      return Either.map(next, (v): Node => ({ ...node, items: (node as { items: ReadonlyArray<Node> }).items.map((x, j) => (j === seg ? v : x)) }) as Node)
    }
    return Either.left(`${here === "" ? "the pipeline" : here} is ${describeNode(node)}, not a mapping or list`)
  }
  return Either.map(go(root, 0), (n) => n as MapNode)
}

export interface Override {
  readonly path: Path
  readonly value: Node
  /** Origin of each path segment. */
  readonly at: (i: number) => Origin
}

/** Parses one `--set PATH=VALUE` flag; its diagnostics name the flag as their file. */
export const parseSetFlag = (flag: string): Either.Either<Override, Diagnostic> => parseOverrideFlag(flag, "--set")

/** A `PATH=VALUE` flag of the name given (`--set`, `rstn sweep --grid`); its diagnostics name the flag. */
export const parseOverrideFlag = (flag: string, name: string): Either.Either<Override, Diagnostic> => {
  const label = `${name} ${flag}`
  const base = `${name} `.length
  const origin = (offset: number): Origin => ({ file: label, line: 1, col: base + offset + 1 })
  const eq = flag.indexOf("=")
  if (eq < 0) {
    return Either.left(diagnostic(origin(0), "override-invalid", `expected PATH=VALUE, got '${flag}'`, name === "--set" ? "e.g. --set training.batch-size=4" : `e.g. ${name} 'test.stages[2].converge-until.threshold=[0.95,0.99]'`))
  }
  const parsed = parsePath(flag.slice(0, eq))
  if (Either.isLeft(parsed)) return Either.left(diagnostic(origin(parsed.left.offset), "override-invalid", parsed.left.message))
  const valueText = flag.slice(eq + 1)
  const valueStart = eq + 1
  const yaml = parseYaml(valueText, new LineCounter())
  if (yaml._tag === "TooDeep") {
    return Either.left(diagnostic(origin(valueStart + yaml.offset), "too-deep", `the value nests mappings and lists deeper than ${MAX_DEPTH} levels`))
  }
  if (yaml._tag === "TooMany") return Either.left(diagnostic(origin(valueStart + yaml.offset), "too-large", `the value holds more than ${MAX_VALUES} values`))
  const doc = yaml.doc
  const error = doc.errors[0]
  if (error !== undefined) {
    const p = yamlProblems([error], yaml.tokens)[0]!
    return Either.left(diagnostic(origin(valueStart + p.offset), "override-invalid", `cannot read the value: ${p.message}`, p.hint ?? "quote strings that hold YAML punctuation, e.g. --set 'name=\"a: b\"'"))
  }
  const warning = doc.warnings[0]
  if (warning !== undefined) {
    return Either.left(diagnostic(origin(valueStart + warning.pos[0]), "override-invalid", `cannot read the value: ${warning.message.split("\n")[0]}`, "--set values are plain YAML without tags"))
  }
  const contents = doc.contents as YamlNode | null
  const diagnostics: Diagnostic[] = []
  const value = contents === null ? scalar(null, origin(valueStart)) : convert(doc, contents, (o) => origin(valueStart + o), diagnostics)
  if (value === undefined || diagnostics.length > 0) {
    return Either.left(diagnostics[0] ?? diagnostic(origin(valueStart), "override-invalid", `cannot read the value '${valueText}'`))
  }
  const { offsets, path } = parsed.right
  return Either.right({ path, value, at: (i) => origin(offsets[Math.min(i, offsets.length - 1)] ?? 0) })
}
