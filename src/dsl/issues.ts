/**
 * Turns an effect/Schema decode failure (decoded with `{ errors: "all", onExcessProperty:
 * "error" }`) into located diagnostics: each issue's path is looked up in the located tree, so
 * the message points at the offending key or value in whichever file (or flag) it came from.
 *
 * Unions are where generic formatters become noisy (one complaint per member); here a union
 * reports only the member that fits the value's shape, a union of literals says "expected one of
 * ..." with a did-you-mean, and a union of single-key mappings (stages) reads the key as the
 * stage's name: unknown names get a did-you-mean, known ones report only their own options.
 */
import type * as ParseResult from "effect/ParseResult"
import * as Option from "effect/Option"
import { IntSchemaId } from "effect/Schema"
import * as AST from "effect/SchemaAST"
import { type Diagnostic, diagnostic } from "./diagnostic.ts"
import { didYouMean } from "./did-you-mean.ts"
import { ExpectedId, KeyedUnionId, STAGE_NAMES } from "./pipeline.ts"
import { at, describeValue, formatPath, locate, type MapNode, type Path, quoteShort } from "./tree.ts"

type Kind = "object" | "array" | "string" | "number" | "boolean" | "null" | "undefined" | "any"

const kindOfValue = (u: unknown): Kind =>
  u === null ? "null" : Array.isArray(u) ? "array" : typeof u === "object" ? "object" : (typeof u as Kind)

/** The JSON kinds a schema accepts on its encoded side. */
const kindsOf = (ast: AST.AST): ReadonlyArray<Kind> => {
  switch (ast._tag) {
    case "Refinement":
      return kindsOf(ast.from)
    case "Transformation":
      return kindsOf(ast.from)
    case "Suspend":
      return kindsOf(ast.f())
    case "TypeLiteral":
      return ["object"]
    case "TupleType":
      return ["array"]
    case "StringKeyword":
    case "TemplateLiteral":
      return ["string"]
    case "NumberKeyword":
      return ["number"]
    case "BooleanKeyword":
      return ["boolean"]
    case "UndefinedKeyword":
    case "VoidKeyword":
      return ["undefined"]
    case "Literal":
      return [kindOfValue(ast.literal)]
    case "Enums":
      return ["string", "number"]
    case "Union":
      return ast.types.flatMap(kindsOf)
    default:
      return ["any"]
  }
}

const quote = (l: AST.LiteralValue): string => (typeof l === "string" ? JSON.stringify(l) : String(l))

const literalsOf = (ast: AST.AST): ReadonlyArray<AST.LiteralValue> | undefined => {
  if (ast._tag === "Literal") return [ast.literal]
  if (ast._tag === "Union") {
    const all: AST.LiteralValue[] = []
    for (const t of ast.types) {
      if (t._tag === "UndefinedKeyword") continue
      const ls = literalsOf(t)
      if (ls === undefined) return undefined
      for (const l of ls) all.push(l)
    }
    return all
  }
  return undefined
}

const expectedAnnotation = (ast: AST.AST): string | undefined => ast.annotations[ExpectedId] as string | undefined

/** "a positive integer", "one of "sgd", "adam"", "a mapping or null". */
export const describeAst = (ast: AST.AST): string => {
  const custom = expectedAnnotation(ast)
  if (custom !== undefined) return custom
  const literals = literalsOf(ast)
  if (literals !== undefined) return literals.length === 1 ? quote(literals[0]!) : `one of ${literals.map(quote).join(", ")}`
  switch (ast._tag) {
    case "Refinement": {
      const d = AST.getDescriptionAnnotation(ast)
      return d._tag === "Some" ? d.value : describeAst(ast.from)
    }
    case "Transformation":
      return describeAst(ast.from)
    case "Suspend":
      return describeAst(ast.f())
    case "StringKeyword":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "true or false"
    case "TypeLiteral":
      return "a mapping"
    case "TupleType":
      return ast.rest.length > 0 ? "a list" : `a list of ${ast.elements.length} item${ast.elements.length === 1 ? "" : "s"}`
    case "Union": {
      const parts = [...new Set(ast.types.filter((t) => t._tag !== "UndefinedKeyword").map(describeAst))]
      return parts.join(" or ")
    }
    default:
      return "a valid value"
  }
}

/** The name a keyed-union member answers to: its single key, or its bare literal. */
const keyOf = (ast: AST.AST): string | undefined => {
  switch (ast._tag) {
    case "Transformation":
      return keyOf(ast.from)
    case "Refinement":
      return keyOf(ast.from)
    case "TypeLiteral":
      return ast.propertySignatures.length === 1 ? String(ast.propertySignatures[0]!.name) : undefined
    case "Literal":
      return typeof ast.literal === "string" ? ast.literal : undefined
    default:
      return undefined
  }
}

/** A member's properties whose value is one literal (`kind: slurm`), and whether each may be left out. */
const literalProps = (t: AST.AST): Map<string, { readonly literal: AST.LiteralValue; readonly optional: boolean }> | undefined => {
  if (t._tag === "Transformation" || t._tag === "Refinement") return literalProps(t.from)
  if (t._tag !== "TypeLiteral") return undefined
  const out = new Map<string, { literal: AST.LiteralValue; optional: boolean }>()
  for (const p of t.propertySignatures) {
    if (p.type._tag === "Literal") out.set(String(p.name), { literal: p.type.literal, optional: p.isOptional })
    // An optional tag with a default (`kind` of the local executor) is encoded as `Literal | undefined`.
    else if (p.type._tag === "Union" && p.type.types.length === 2 && p.type.types[1]!._tag === "UndefinedKeyword" && p.type.types[0]!._tag === "Literal") {
      out.set(String(p.name), { literal: p.type.types[0]!.literal, optional: true })
    }
  }
  return out
}

/** A property every object member of a union has, with a literal value (`kind`). */
const discriminator = (
  ast: AST.Union
): { readonly key: string; readonly values: ReadonlyArray<AST.LiteralValue>; readonly optional: boolean } | undefined => {
  const members = ast.types.map(literalProps)
  if (members.length < 2 || members.some((m) => m === undefined)) return undefined
  const all = members as ReadonlyArray<Map<string, { literal: AST.LiteralValue; optional: boolean }>>
  for (const key of all[0]!.keys()) {
    if (all.every((m) => m.has(key))) {
      return { key, values: all.map((m) => m.get(key)!.literal), optional: all.some((m) => m.get(key)!.optional) }
    }
  }
  return undefined
}

const astOf = (issue: ParseResult.ParseIssue): AST.AST | undefined => ("ast" in issue ? (issue.ast as AST.AST) : undefined)

const keysOf = (ast: AST.AST): ReadonlyArray<string> | undefined => {
  switch (ast._tag) {
    case "TypeLiteral":
      return ast.propertySignatures.map((p) => String(p.name))
    case "Transformation":
      return keysOf(ast.from)
    case "Refinement":
      return keysOf(ast.from)
    default:
      return undefined
  }
}

const children = (issues: ParseResult.Composite["issues"]): ReadonlyArray<ParseResult.ParseIssue> =>
  Array.isArray(issues) ? issues : [issues as ParseResult.ParseIssue]

export interface IssueContext {
  /** The merged, located value that was decoded. */
  readonly root: MapNode
  /** Keys accepted at the top level besides the schema's (extends, set), for did-you-mean. */
  readonly extraRootKeys: ReadonlyArray<string>
}

const inPath = (path: Path): string => (path.length === 0 ? "" : ` in ${formatPath(path)}`)
const atPath = (path: Path): string => (path.length === 0 ? "" : `${formatPath(path)}: `)

/** Whether a schema takes integers only (`Schema.int()` somewhere in its refinements). */
const isInteger = (ast: AST.AST): boolean => {
  if (Option.getOrUndefined(AST.getSchemaIdAnnotation(ast)) === IntSchemaId) return true
  return ast._tag === "Refinement" || ast._tag === "Transformation" ? isInteger(ast.from) : false
}

export const issueDiagnostics = (top: ParseResult.ParseIssue, ctx: IssueContext): ReadonlyArray<Diagnostic> => {
  const out: Diagnostic[] = []

  const typeError = (path: Path, ast: AST.AST, actual: unknown): void => {
    const node = at(ctx.root, path)
    const written = node?.kind === "scalar" && node.text !== undefined ? node.text : describeValue(actual)
    if (typeof actual === "number" && Number.isInteger(actual) && !Number.isSafeInteger(actual) && isInteger(ast)) {
      const limit = actual > 0 ? `the largest integer allowed is ${Number.MAX_SAFE_INTEGER} (2^53 - 1)` : `the smallest integer allowed is ${Number.MIN_SAFE_INTEGER} (-(2^53 - 1))`
      out.push(diagnostic(locate(ctx.root, path), "range", `${atPath(path)}${written} is out of range: ${limit}`))
      return
    }
    const literals = literalsOf(ast)
    const guess =
      typeof actual === "string" && literals !== undefined
        ? didYouMean(actual, literals.filter((l): l is string => typeof l === "string"))
        : undefined
    out.push(
      diagnostic(
        locate(ctx.root, path),
        "type",
        `${atPath(path)}expected ${describeAst(ast)}, got ${written}`,
        guess !== undefined ? `did you mean "${guess}"?` : undefined
      )
    )
  }

  const keyed = (issue: ParseResult.Composite, ast: AST.Union, path: Path): void => {
    const noun = (ast.annotations[KeyedUnionId] as string | undefined) ?? "item"
    const members = children(issue.issues)
    const names = [...new Set(ast.types.map(keyOf).filter((k): k is string => k !== undefined))]
    const bare = new Set(ast.types.filter((t) => kindsOf(t).includes("string")).map(keyOf))
    const actual = issue.actual
    const unknownName = (name: string, at: Path, key: boolean): void => {
      const elsewhere = (STAGE_NAMES as ReadonlyArray<string>).includes(name) && noun === "stage"
      const guess = didYouMean(name, names)
      out.push(
        diagnostic(
          locate(ctx.root, at, { key }),
          "unknown-stage",
          elsewhere ? `${name} cannot appear inside converge-until` : `unknown ${noun} '${name}'`,
          elsewhere ? "nested loops are not supported" : guess !== undefined ? `did you mean '${guess}'?` : `known: ${names.join(", ")}`
        )
      )
    }
    if (typeof actual === "string") {
      if (!names.includes(actual)) return unknownName(actual, path, false)
      if (!bare.has(actual)) {
        out.push(diagnostic(locate(ctx.root, path), "type", `${atPath(path)}${actual} needs its options, e.g. ${actual}: { ... }`))
        return
      }
    } else if (kindOfValue(actual) === "object") {
      const keys = Object.keys(actual as object)
      if (keys.length !== 1) {
        out.push(
          diagnostic(
            locate(ctx.root, path),
            "type",
            `${atPath(path)}a ${noun} is one name with its options, got ${keys.length === 0 ? "an empty mapping" : `keys ${keys.map((k) => `'${k}'`).join(", ")}`}`,
            `write one ${noun} per list item, e.g. - fuse: { threshold: 0.5 }`
          )
        )
        return
      }
      const name = keys[0]!
      if (!names.includes(name)) return unknownName(name, [...path, name], true)
      const member = members.find((m) => {
        const a = astOf(m)
        return a !== undefined && kindsOf(a).includes("object") && keyOf(a) === name
      })
      if (member !== undefined) return walk(member, path, undefined)
    }
    out.push(
      diagnostic(locate(ctx.root, path), "type", `${atPath(path)}expected a ${noun} (${names.join(", ")}), got ${describeValue(actual)}`)
    )
  }

  const union = (issue: ParseResult.Composite, ast: AST.Union, path: Path): void => {
    if (ast.annotations[KeyedUnionId] !== undefined) return keyed(issue, ast, path)
    const kind = kindOfValue(issue.actual)
    const disc = kind === "object" ? discriminator(ast) : undefined
    if (disc !== undefined) {
      const tag = (issue.actual as Record<string, unknown>)[disc.key]
      if (tag === undefined && !disc.optional) {
        out.push(
          diagnostic(locate(ctx.root, [...path, disc.key]), "missing-key", `missing key '${disc.key}'${inPath(path)}`, `${disc.key} is one of ${disc.values.map(quote).join(", ")}`)
        )
        return
      }
      // The member the value names (or, without a tag, the one whose tag may be left out) says what is wrong.
      const named = children(issue.issues).find((m) => {
        const a = astOf(m)
        const own = a === undefined ? undefined : literalProps(a)?.get(disc.key)
        return own !== undefined && (tag === undefined ? own.optional : own.literal === tag)
      })
      if (named !== undefined) return walk(named, path, undefined)
      if (tag !== undefined && !disc.values.includes(tag as AST.LiteralValue)) {
        const guess = typeof tag === "string" ? didYouMean(tag, disc.values.filter((v): v is string => typeof v === "string")) : undefined
        out.push(
          diagnostic(
            locate(ctx.root, [...path, disc.key]),
            "type",
            `${atPath([...path, disc.key])}expected one of ${disc.values.map(quote).join(", ")}, got ${describeValue(tag)}`,
            guess !== undefined ? `did you mean "${guess}"?` : undefined
          )
        )
        return
      }
    }
    const fitting = children(issue.issues).filter((m) => {
      const a = astOf(m)
      return a === undefined || kindsOf(a).includes(kind) || kindsOf(a).includes("any")
    })
    const structural = fitting.filter((m) => {
      const a = astOf(m)
      return !(m._tag === "Type" && a !== undefined && a._tag === "Literal")
    })
    if (structural.length === 0) return typeError(path, ast, issue.actual)
    // A member that failed only for want of its literal tag (`kind: slurm`) says less than one
    // whose tag is optional and which failed on a real value (`workers: 0` of the local executor).
    const missesTag = (m: ParseResult.ParseIssue): boolean =>
      m._tag === "Composite" && children(m.issues).every((c) => c._tag === "Pointer" && c.issue._tag === "Missing")
    walk(structural.find((m) => !missesTag(m)) ?? structural[0]!, path, undefined)
  }

  const walk = (issue: ParseResult.ParseIssue, path: Path, siblingKeys: ReadonlyArray<string> | undefined): void => {
    switch (issue._tag) {
      case "Pointer": {
        const segs = Array.isArray(issue.path) ? issue.path : [issue.path]
        return walk(issue.issue, [...path, ...segs.map((s) => (typeof s === "number" ? s : String(s)))], siblingKeys)
      }
      case "Composite": {
        const ast = issue.ast
        if (ast._tag === "Union") return union(issue, ast, path)
        if (ast._tag === "TupleType" && ast.rest.length === 0 && Array.isArray(issue.actual)) {
          const structural = children(issue.issues).some((c) => c._tag === "Pointer" && (c.issue._tag === "Missing" || c.issue._tag === "Unexpected"))
          if (structural) {
            out.push(
              diagnostic(
                locate(ctx.root, path),
                "type",
                `${atPath(path)}expected ${describeAst(ast)}, got ${issue.actual.length}`
              )
            )
            return
          }
        }
        const keys = keysOf(ast)
        for (const c of children(issue.issues)) walk(c, path, keys)
        return
      }
      case "Refinement":
        if (issue.kind === "From") return walk(issue.issue, path, siblingKeys)
        return typeError(path, issue.ast, issue.actual)
      case "Transformation":
        if (issue.kind === "Transformation") {
          const inner = issue.issue as { readonly message?: unknown }
          out.push(diagnostic(locate(ctx.root, path), "type", `${atPath(path)}${typeof inner.message === "string" ? inner.message : "invalid value"}`))
          return
        }
        return walk(issue.issue, path, siblingKeys)
      case "Type":
        return typeError(path, issue.ast, issue.actual)
      case "Missing": {
        const key = path[path.length - 1]
        const parent = path.slice(0, -1)
        out.push(diagnostic(locate(ctx.root, path), "missing-key", `missing key '${String(key)}'${inPath(parent)}`))
        return
      }
      case "Unexpected": {
        const key = path[path.length - 1]
        const parent = path.slice(0, -1)
        const candidates = [...(siblingKeys ?? []), ...(parent.length === 0 ? ctx.extraRootKeys : [])]
        // A key is never its own suggestion (a file key like `extends` written where it is not allowed).
        const guess = typeof key === "string" ? didYouMean(key, candidates.filter((c) => c !== key)) : undefined
        out.push(
          diagnostic(
            locate(ctx.root, path, { key: true }),
            "unknown-key",
            `unknown key ${quoteShort(String(key))}${inPath(parent)}`,
            guess !== undefined ? `did you mean '${guess}'?` : candidates.length > 0 ? `known keys: ${candidates.join(", ")}` : undefined
          )
        )
        return
      }
      case "Forbidden":
        out.push(diagnostic(locate(ctx.root, path), "type", `${atPath(path)}${issue.message ?? "value not allowed"}`))
        return
    }
  }

  walk(top, [], undefined)
  return out
}
