/**
 * One YAML document from text, parsed in the `yaml` package's two steps so the text's shape can
 * be checked in between: the CST (which the package builds without recursion) is walked for its
 * nesting depth and number of values, and only a text within the bounds is composed into a
 * Document (which recurses: a few thousand nested `[` overflow the stack). The tokens are kept, so problems the composer
 * reports at the end of a value can be moved to where the value starts.
 */
import { Composer, CST, type Document, Lexer, type LineCounter, Parser, YAMLParseError } from "yaml"

/**
 * Deepest nesting of mappings and lists accepted. A pipeline nests 8 levels (a stage option in
 * a loop body); 64 leaves room for any hand-written file and keeps every later recursive step
 * (composing, merging, decoding) far from the stack's limit.
 */
export const MAX_DEPTH = 64

/**
 * uniqueKeys off: the package compares each key with every earlier one (minutes for a mapping of
 * 60,000 keys); source.ts's `convert` reports duplicates with a set instead.
 */
export const DOCUMENT_OPTIONS = { prettyErrors: false, uniqueKeys: false, version: "1.2" } as const

/**
 * Most values (scalars, mappings, lists, and keys) accepted in one text. A pipeline holds a few
 * hundred; an explicit list of 2,000 cases about 14,000 (larger datasets come as a Decathlon
 * directory, whose dataset.json is not a pipeline file).
 * Beyond this the text is data given by mistake, and composing and checking 300,000 values
 * would take seconds; 20,000 take a few tenths.
 */
export const MAX_VALUES = 20_000

export type ParsedYaml =
  | { readonly _tag: "Document"; readonly doc: Document; readonly tokens: ReadonlyArray<CST.Token> }
  /** Nested deeper than MAX_DEPTH: `offset` is where the first value beyond the bound starts. */
  | { readonly _tag: "TooDeep"; readonly offset: number }
  /** More than MAX_VALUES values: `offset` is where the first one beyond the bound starts. */
  | { readonly _tag: "TooMany"; readonly offset: number }

const isCollection = (t: CST.Token): t is CST.BlockMap | CST.BlockSequence | CST.FlowCollection =>
  t.type === "block-map" || t.type === "block-seq" || t.type === "flow-collection"

/** The tokens directly inside a token (values of documents and items of collections). */
const childrenOf = (t: CST.Token): ReadonlyArray<CST.Token> => {
  if (t.type === "document") return t.value ? [t.value] : []
  if (isCollection(t)) return t.items.flatMap((i) => [...(i.key ? [i.key] : []), ...(i.value ? [i.value] : [])])
  return []
}

/**
 * Whether the text is within the bounds, walked iteratively (no recursion): the first value
 * nested deeper than MAX_DEPTH, or beyond the first MAX_VALUES, if any.
 */
const outOfBounds = (tokens: ReadonlyArray<CST.Token>): ParsedYaml | undefined => {
  const stack: Array<readonly [CST.Token, number]> = tokens.map((t) => [t, 0] as const)
  let values = 0
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!
    const inner = isCollection(token) ? depth + 1 : depth
    if (inner > MAX_DEPTH) return { _tag: "TooDeep", offset: token.offset }
    if (token.type !== "document" && ++values > MAX_VALUES) return { _tag: "TooMany", offset: token.offset }
    for (const child of childrenOf(token)) stack.push([child, inner])
  }
  return undefined
}

/**
 * Building the CST of a megabyte of tiny values takes seconds; lexing it takes a tenth of that.
 * A value takes about three lexemes (scalar, separator or indicator, space or line end), so a
 * text of more than this many holds more than MAX_VALUES values and is refused unparsed.
 */
const MAX_LEXEMES = 4 * MAX_VALUES
/** The lexer's markers, which stand for no text. */
const MARKERS: ReadonlySet<string> = new Set([CST.DOCUMENT, CST.FLOW_END, CST.SCALAR])

/** Where the lexemes of `text` pass MAX_LEXEMES (a rough place: the values pile up there). */
const crowdedAt = (text: string): number | undefined => {
  let count = 0
  let offset = 0
  for (const lexeme of new Lexer().lex(text)) {
    if (MARKERS.has(lexeme)) continue
    if (++count > MAX_LEXEMES) return offset
    offset += lexeme.length
  }
  return undefined
}

/** Gives `lineCounter` the lines of a text the parser did not read (it counts them as it goes). */
export const countLines = (text: string, lineCounter: LineCounter): void => {
  lineCounter.addNewLine(0)
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lineCounter.addNewLine(i + 1)
}

/** Every token of the CST, depth first (for finding the one a problem belongs to). */
export const allTokens = (tokens: ReadonlyArray<CST.Token>): ReadonlyArray<CST.Token> => {
  const out: CST.Token[] = []
  const stack = [...tokens].reverse()
  while (stack.length > 0) {
    const token = stack.pop()!
    out.push(token)
    const children = childrenOf(token)
    // One at a time: spreading a list of 100,000 items into push() overflows the stack.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!)
  }
  return out
}

/**
 * Parses `text` as one document (a second one is the composer's MULTIPLE_DOCS error, as with
 * `parseDocument`), or reports that it nests too deeply without composing it.
 */
export const parseYaml = (text: string, lineCounter: LineCounter): ParsedYaml => {
  const crowded = crowdedAt(text)
  if (crowded !== undefined) {
    countLines(text, lineCounter)
    return { _tag: "TooMany", offset: crowded }
  }
  const tokens = [...new Parser(lineCounter.addNewLine).parse(text)]
  const bounds = outOfBounds(tokens)
  if (bounds !== undefined) return bounds
  const composer = new Composer(DOCUMENT_OPTIONS)
  let doc: Document | undefined
  for (const next of composer.compose(tokens, true, text.length)) {
    if (doc === undefined) {
      doc = next
      continue
    }
    // The error parseDocument raises; source.ts words it for users.
    doc.errors.push(new YAMLParseError([next.range[0], next.range[1]], "MULTIPLE_DOCS", "a second YAML document"))
    break
  }
  return { _tag: "Document", doc: doc!, tokens }
}
