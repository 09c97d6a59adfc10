/**
 * YAML text -> located tree, with every problem of the text itself collected: size limit, empty
 * file, syntax errors, tabs as indentation, duplicate keys, unknown tags, alias bombs,
 * non-finite numbers, a document that is not a mapping. Parsed with the `yaml` package keeping
 * source ranges; positions come from its `LineCounter`.
 */
import { Alias, type CST, isAlias, isMap, isScalar, isSeq, LineCounter, type Document, type Node as YamlNode, type YAMLError } from "yaml"
import { type Diagnostic, diagnostic, type DiagnosticCode, type Origin } from "./diagnostic.ts"
import { describeValue, type MapNode, type Node, scalar } from "./tree.ts"
import { allTokens, countLines, MAX_DEPTH, MAX_VALUES, parseYaml } from "./yaml-parse.ts"

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
  const go = (node: YamlNode | null | undefined, fallback: Origin, depth = 0): Node | undefined => {
    if (failed) return undefined
    if (node === null || node === undefined) return scalar(null, fallback)
    const origin = node.range ? place(node.range[0]) : fallback
    // The text was checked for depth before it was composed; aliases can still stack values
    // inside each other (an anchor holding an alias to a deep anchor...).
    if (depth > MAX_DEPTH) {
      diagnostics.push(diagnostic(outermost ?? origin, "too-deep", `aliases nest mappings and lists deeper than ${MAX_DEPTH} levels`, "a pipeline nests about 8 levels"))
      failed = true
      return undefined
    }
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
      const out = go(target, origin, depth)
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
        // Integers beyond 2^53 lose digits when read: keep the text, so messages quote what was written.
        const text = node.source !== undefined && /^[-+]?\d+$/.test(node.source) && !Number.isSafeInteger(v) ? node.source : undefined
        return scalar(v, origin, text)
      }
      if (typeof v === "string" || typeof v === "boolean" || v === null) return scalar(v, origin)
      const tag = (node.tag ?? "").replace(/^tag:yaml\.org,2002:/, "!!")
      diagnostics.push(diagnostic(origin, "unsupported-value", `unsupported value${tag ? ` of type ${tag}` : ""}`, "use plain strings, numbers, booleans, lists and mappings"))
      return scalar(null, origin)
    }
    if (isMap(node)) {
      const entries: { key: string; keyOrigin: Origin; value: Node }[] = []
      const seen = new Set<string>()
      for (const pair of node.items) {
        const k = pair.key as YamlNode | null
        const keyOrigin = k && k.range ? place(k.range[0]) : origin
        const kv = isScalar(k) ? k.value : undefined
        if (!(typeof kv === "string" || typeof kv === "number" || typeof kv === "boolean")) {
          diagnostics.push(diagnostic(keyOrigin, "yaml-syntax", "keys must be plain names"))
          continue
        }
        const key = String(kv)
        // The first of repeated keys counts; the others are reported and left out.
        if (seen.has(key)) {
          diagnostics.push(diagnostic(keyOrigin, "duplicate-key", "duplicate key", "each key may appear once in a mapping; remove or merge the repeats"))
          continue
        }
        seen.add(key)
        const valueNode = pair.value as YamlNode | null
        const value = go(valueNode, keyOrigin, depth + 1)
        if (value === undefined) return undefined
        entries.push({ key, keyOrigin, value })
      }
      return { kind: "map", entries, origin }
    }
    if (isSeq(node)) {
      const items: Node[] = []
      for (const item of node.items) {
        const value = go(item as YamlNode | null, origin, depth + 1)
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

/** A problem the `yaml` package found, as a pipeline diagnostic (position as an offset into the text). */
export interface YamlProblem {
  readonly offset: number
  readonly code: DiagnosticCode
  readonly message: string
  readonly hint?: string
  /** An unclosed quote: the rest of the text is inside the string, so later errors are its echoes. */
  readonly swallowsRest?: boolean
}

const QUOTES: Readonly<Record<string, string>> = { "double-quoted-scalar": '"', "single-quoted-scalar": "'" }

/**
 * Words the `yaml` package's errors for users; each makes the text unusable. Unclosed quotes and
 * brackets are reported by the package where the text ends (or the next line starts); they are
 * moved to where the quote or bracket opens, which is where the fix goes. When an unclosed quote
 * swallows the rest of the text, only it is reported.
 */
export const yamlProblems = (errors: ReadonlyArray<YAMLError>, tokens: ReadonlyArray<CST.Token>): ReadonlyArray<YamlProblem> => {
  let flat: ReadonlyArray<CST.Token> | undefined
  const all = () => (flat ??= allTokens(tokens))
  const problems = errors.map((e) => yamlProblem(e, all))
  const unclosed = problems.filter((p) => p.swallowsRest === true)
  return unclosed.length > 0 ? unclosed : problems
}

const yamlProblem = (e: YAMLError, all: () => ReadonlyArray<CST.Token>): YamlProblem => {
  const pos = e.pos[0]
  const containing = (type: string) =>
    all().findLast((t) => t.type === type && t.offset <= pos && pos <= t.offset + ("source" in t ? t.source.length : Infinity))
  switch (e.code) {
    case "TAB_AS_INDENT":
      return { offset: pos, code: "tab-indent", message: "tab used as indentation", hint: "YAML indents with spaces only" }
    case "MULTIPLE_DOCS":
      return { offset: pos, code: "yaml-syntax", message: "a second YAML document (---)", hint: "a pipeline file holds one document; in a --set value, quote text that contains ---" }
    case "MISSING_CHAR": {
      const kind = Object.keys(QUOTES).find((k) => e.message.includes(`closing ${QUOTES[k]}quote`))
      const open = kind === undefined ? undefined : containing(kind)
      if (open !== undefined) {
        return {
          offset: open.offset,
          code: "yaml-syntax",
          message: `the ${QUOTES[kind!]} opened here is never closed`,
          hint: `end the string with ${QUOTES[kind!]}`,
          swallowsRest: true
        }
      }
      break
    }
  }
  // "Flow sequence must end with a ]" (MISSING_CHAR), "... must be sufficiently indented and end with a ]" (BAD_INDENT).
  const bracket = /end with a ([\]}])/.exec(e.message)?.[1]
  if (bracket !== undefined) {
    const open = all().findLast((t): t is CST.FlowCollection => t.type === "flow-collection" && t.offset <= pos && !t.end.some((x) => x.source === bracket))
    if (open !== undefined) {
      return { offset: open.offset, code: "yaml-syntax", message: `the ${open.start.source} opened here is never closed`, hint: `close it with ${bracket}; a list or mapping in brackets may span lines only when they are indented` }
    }
  }
  return { offset: pos, code: "yaml-syntax", message: firstLine(e.message) }
}

/** Characters YAML does not allow and text files do not hold: the C0 controls but tab, LF and CR, and DEL. */
const BINARY = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/

/**
 * The text as the parser sees it: without a byte order mark (which would shift every column of
 * line 1 by one) and with CR LF and lone CR line ends as LF (the `yaml` package breaks lines at
 * LF only, so an old-Mac file would be one long line).
 */
export const normalizeText = (text: string): string => text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n")

/** Parses one pipeline file's text. */
export const parseSource = (file: string, raw: string): Parsed => {
  const diagnostics: Diagnostic[] = []
  const start: Origin = { file, line: 1, col: 1 }
  const bytes = Buffer.byteLength(raw, "utf8")
  if (bytes > MAX_BYTES) {
    diagnostics.push(diagnostic(start, "too-large", `the file is ${bytes} bytes; the limit is ${MAX_BYTES} (1 MiB)`, "a pipeline file is a few hundred lines; is this the right file?"))
    return { tree: undefined, diagnostics }
  }
  const text = normalizeText(raw)
  const lc = new LineCounter()
  const binary = BINARY.exec(text)
  if (binary !== null) {
    // Located, but never quoted: the bytes would fill the screen.
    countLines(text, lc)
    diagnostics.push(diagnostic(filePlace(file, lc)(binary.index), "not-text", "not a text file: it holds binary data (a control character here)", "a pipeline is a YAML text file; is this the right file?"))
    return { tree: undefined, diagnostics }
  }
  const parsed = parseYaml(text, lc)
  const place = filePlace(file, lc)
  if (parsed._tag === "TooDeep") {
    diagnostics.push(diagnostic(place(parsed.offset), "too-deep", `mappings and lists nested deeper than ${MAX_DEPTH} levels`, "a pipeline nests about 8 levels; is this the right file?"))
    return { tree: undefined, diagnostics }
  }
  if (parsed._tag === "TooMany") {
    diagnostics.push(diagnostic(place(parsed.offset), "too-large", `more than ${MAX_VALUES} values`, "a pipeline holds a few hundred; is this the right file?"))
    return { tree: undefined, diagnostics }
  }
  const doc = parsed.doc
  let fatal = doc.errors.length > 0
  for (const p of yamlProblems(doc.errors, parsed.tokens)) diagnostics.push(diagnostic(place(p.offset), p.code, p.message, p.hint))
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
