/**
 * YAML text -> located tree, with every problem of the text itself collected: size limit, empty
 * file, syntax errors, tabs as indentation, duplicate keys, unknown tags, alias bombs,
 * non-finite numbers, a document that is not a mapping. Parsed with the `yaml` package keeping
 * source ranges; positions come from its `LineCounter`.
 */
import { Alias, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from "yaml"
import { type Diagnostic, diagnostic, type Origin } from "./diagnostic.ts"
import { describeValue, type MapNode, type Node, scalar } from "./tree.ts"

/** A pipeline is a few hundred lines; anything this large is a mistake (or an attack). */
export const MAX_BYTES = 1024 * 1024
/** Alias expansions allowed per document: the `yaml` package's own default `maxAliasCount`. */
export const MAX_ALIASES = 100

export interface Parsed {
  /** Present unless a problem makes the text unusable (syntax, size, not a mapping...). */
  readonly tree: MapNode | undefined
  readonly diagnostics: ReadonlyArray<Diagnostic>
}

/** Maps a character offset of the parsed text to an origin (a file position, or a flag column). */
export type Place = (offset: number) => Origin

export const filePlace = (file: string, lc: LineCounter): Place => (offset) => {
  const p = lc.linePos(offset)
  return { file, line: p.line, col: p.col }
}

const firstLine = (message: string): string => message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")

/** Converts a YAML node to a located tree, expanding aliases with a bound. */
export const convert = (
  doc: Document,
  root: YamlNode,
  place: Place,
  diagnostics: Diagnostic[]
): Node | undefined => {
  let aliases = 0
  let failed = false
  const expanding: YamlNode[] = []
  let outermost: Origin | undefined
  const go = (node: YamlNode | null | undefined, fallback: Origin): Node | undefined => {
    if (failed) return undefined
    if (node === null || node === undefined) return scalar(null, fallback)
    const origin = node.range ? place(node.range[0]) : fallback
    if (isAlias(node)) {
      if (++aliases > MAX_ALIASES) {
        // Point at the alias written where the expansion started, not at one inside an anchor.
        diagnostics.push(diagnostic(outermost ?? origin, "alias-limit", `more than ${MAX_ALIASES} alias expansions`, "a pipeline needs few aliases; this looks like an alias bomb"))
        failed = true
        return undefined
      }
      const target = (node as Alias).resolve(doc)
      if (target === undefined) {
        diagnostics.push(diagnostic(origin, "yaml-syntax", `unknown alias *${(node as Alias).source}`, "define the anchor (&name) before using it"))
        return scalar(null, origin)
      }
      if (expanding.includes(target)) {
        diagnostics.push(diagnostic(origin, "alias-limit", `alias *${(node as Alias).source} refers to the value that contains it`))
        failed = true
        return undefined
      }
      expanding.push(target)
      const outer = outermost
      outermost ??= origin
      const out = go(target, origin)
      outermost = outer
      expanding.pop()
      return out
    }
    if (isScalar(node)) {
      const v = node.value
      if (typeof v === "number") {
        if (!Number.isFinite(v)) {
          const text = node.source ?? String(v)
          diagnostics.push(diagnostic(origin, "non-finite", `${text} is not a finite number`, "pipelines take finite numbers only"))
        }
        return scalar(v, origin)
      }
      if (typeof v === "string" || typeof v === "boolean" || v === null) return scalar(v, origin)
      const tag = (node.tag ?? "").replace(/^tag:yaml\.org,2002:/, "!!")
      diagnostics.push(diagnostic(origin, "unsupported-value", `unsupported value${tag ? ` of type ${tag}` : ""}`, "use plain strings, numbers, booleans, lists and mappings"))
      return scalar(null, origin)
    }
    if (isMap(node)) {
      const entries: { key: string; keyOrigin: Origin; value: Node }[] = []
      for (const pair of node.items) {
        const k = pair.key as YamlNode | null
        const keyOrigin = k && k.range ? place(k.range[0]) : origin
        const kv = isScalar(k) ? k.value : undefined
        if (!(typeof kv === "string" || typeof kv === "number" || typeof kv === "boolean")) {
          diagnostics.push(diagnostic(keyOrigin, "yaml-syntax", "keys must be plain names"))
          continue
        }
        const key = String(kv)
        // Duplicates are reported by the parser (DUPLICATE_KEY); the first one counts.
        if (entries.some((e) => e.key === key)) continue
        const valueNode = pair.value as YamlNode | null
        const value = go(valueNode, keyOrigin)
        if (value === undefined) return undefined
        entries.push({ key, keyOrigin, value })
      }
      return { kind: "map", entries, origin }
    }
    if (isSeq(node)) {
      const items: Node[] = []
      for (const item of node.items) {
        const value = go(item as YamlNode | null, origin)
        if (value === undefined) return undefined
        items.push(value)
      }
      return { kind: "seq", items, origin }
    }
    diagnostics.push(diagnostic(origin, "unsupported-value", "unsupported YAML node"))
    return scalar(null, origin)
  }
  return go(root, place(0))
}

const kindOf = (node: YamlNode): string => (isSeq(node) ? "a list" : isScalar(node) ? `the value ${describeValue(node.value)}` : "an alias")

/** Parses one pipeline file's text. */
export const parseSource = (file: string, text: string): Parsed => {
  const diagnostics: Diagnostic[] = []
  const start: Origin = { file, line: 1, col: 1 }
  const bytes = Buffer.byteLength(text, "utf8")
  if (bytes > MAX_BYTES) {
    diagnostics.push(diagnostic(start, "too-large", `the file is ${bytes} bytes; the limit is ${MAX_BYTES} (1 MiB)`, "a pipeline file is a few hundred lines; is this the right file?"))
    return { tree: undefined, diagnostics }
  }
  const lc = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, version: "1.2" })
  const place = filePlace(file, lc)
  let fatal = false
  for (const e of doc.errors) {
    const at = place(e.pos[0])
    switch (e.code) {
      case "DUPLICATE_KEY":
        diagnostics.push(diagnostic(at, "duplicate-key", "duplicate key", "each key may appear once in a mapping; remove or merge the repeats"))
        break
      case "TAB_AS_INDENT":
        fatal = true
        diagnostics.push(diagnostic(at, "tab-indent", "tab used as indentation", "YAML indents with spaces only"))
        break
      case "MULTIPLE_DOCS":
        fatal = true
        diagnostics.push(diagnostic(at, "yaml-syntax", "a second YAML document (---) in a pipeline file", "one file holds one pipeline"))
        break
      default:
        fatal = true
        diagnostics.push(diagnostic(at, "yaml-syntax", firstLine(e.message)))
    }
  }
  for (const w of doc.warnings) {
    const at = place(w.pos[0])
    if (w.code === "TAG_RESOLVE_FAILED") {
      const tag = /Unresolved tag: (\S+)/.exec(w.message)?.[1] ?? ""
      diagnostics.push(diagnostic(at, "unsupported-value", `unknown tag ${tag}`.trimEnd(), "pipelines use no YAML tags"))
    } else {
      diagnostics.push(diagnostic(at, "yaml-syntax", firstLine(w.message)))
    }
    fatal = true
  }
  if (fatal) return { tree: undefined, diagnostics }
  const contents = doc.contents as YamlNode | null
  if (contents === null || (isScalar(contents) && contents.value === null && text.trim().replace(/^#.*$/gm, "").trim() === "")) {
    diagnostics.push(diagnostic(start, "empty", "the file is empty", "a pipeline starts with name: and dataset:"))
    return { tree: undefined, diagnostics }
  }
  if (!isMap(contents)) {
    const at = contents.range ? place(contents.range[0]) : start
    diagnostics.push(diagnostic(at, "not-a-mapping", `a pipeline is a mapping of keys (name:, dataset:, ...), found ${kindOf(contents)}`))
    return { tree: undefined, diagnostics }
  }
  const tree = convert(doc, contents, place, diagnostics)
  return { tree: tree?.kind === "map" ? tree : undefined, diagnostics }
}
