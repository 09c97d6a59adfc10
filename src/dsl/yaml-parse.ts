/**
 * One YAML document from text, parsed in the `yaml` package's two steps so the text's shape can
 * be checked in between: the CST (which the package builds without recursion) is walked for its
 * nesting depth, and only a text within the bound is composed into a Document (which recurses:
 * a few thousand nested `[` overflow the stack). The tokens are kept, so problems the composer
 * reports at the end of a value can be moved to where the value starts.
 */
import { type CST, Composer, type Document, type LineCounter, Parser, YAMLParseError } from "yaml"

/**
 * Deepest nesting of mappings and lists accepted. A pipeline nests 8 levels (a stage option in
 * a loop body); 64 leaves room for any hand-written file and keeps every later recursive step
 * (composing, merging, decoding) far from the stack's limit.
 */
export const MAX_DEPTH = 64

export const DOCUMENT_OPTIONS = { prettyErrors: false, uniqueKeys: true, version: "1.2" } as const

export type ParsedYaml =
  | { readonly _tag: "Document"; readonly doc: Document; readonly tokens: ReadonlyArray<CST.Token> }
  /** Nested deeper than MAX_DEPTH: `offset` is where the first value beyond the bound starts. */
  | { readonly _tag: "TooDeep"; readonly offset: number }

const isCollection = (t: CST.Token): t is CST.BlockMap | CST.BlockSequence | CST.FlowCollection =>
  t.type === "block-map" || t.type === "block-seq" || t.type === "flow-collection"

/** The tokens directly inside a token (values of documents and items of collections). */
const childrenOf = (t: CST.Token): ReadonlyArray<CST.Token> => {
  if (t.type === "document") return t.value ? [t.value] : []
  if (isCollection(t)) return t.items.flatMap((i) => [...(i.key ? [i.key] : []), ...(i.value ? [i.value] : [])])
  return []
}

/** Where the first collection nested deeper than MAX_DEPTH starts, if any (iterative: no recursion). */
const tooDeepAt = (tokens: ReadonlyArray<CST.Token>): number | undefined => {
  const stack: Array<readonly [CST.Token, number]> = tokens.map((t) => [t, 0] as const)
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!
    const inner = isCollection(token) ? depth + 1 : depth
    if (inner > MAX_DEPTH) return token.offset
    for (const child of childrenOf(token)) stack.push([child, inner])
  }
  return undefined
}

/** Every token of the CST, depth first (for finding the one a problem belongs to). */
export const allTokens = (tokens: ReadonlyArray<CST.Token>): ReadonlyArray<CST.Token> => {
  const out: CST.Token[] = []
  const stack = [...tokens].reverse()
  while (stack.length > 0) {
    const token = stack.pop()!
    out.push(token)
    stack.push(...[...childrenOf(token)].reverse())
  }
  return out
}

/**
 * Parses `text` as one document (a second one is the composer's MULTIPLE_DOCS error, as with
 * `parseDocument`), or reports that it nests too deeply without composing it.
 */
export const parseYaml = (text: string, lineCounter: LineCounter): ParsedYaml => {
  const tokens = [...new Parser(lineCounter.addNewLine).parse(text)]
  const deep = tooDeepAt(tokens)
  if (deep !== undefined) return { _tag: "TooDeep", offset: deep }
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
