/**
 * Canonical JSON: the one text form of a configuration sub-tree that node keys hash. Object keys
 * are sorted, numbers are printed in their shortest round-trip form with -0 folded into 0, and
 * `undefined` members are dropped, so two configurations that mean the same thing hash the same
 * whatever order their YAML keys were written in. Values JSON cannot carry exactly (NaN,
 * Infinity, bigint, functions, class instances) are rejected rather than silently changed.
 */
import { Data, Either } from "effect"

export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

export class CanonicalJsonError extends Data.TaggedError("CanonicalJsonError")<{
  /** Where in the value, e.g. `training.optimizer.lr`. */
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `configuration value at ${this.path || "(root)"} cannot be hashed: ${this.reason}`
  }
}

const isPlainObject = (u: object): boolean => {
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/** Renders one segment of a path: `a.b`, `a[0]`, or `a["odd key"]` for keys that are not identifiers. */
export const joinPath = (base: string, segment: string | number): string =>
  // configSubtree keeps a selection of list items as an object keyed by index: show those as `[i]` too.
  typeof segment === "number" || /^(0|[1-9][0-9]*)$/.test(segment)
    ? `${base}[${segment}]`
    : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)
      ? base === ""
        ? segment
        : `${base}.${segment}`
      : `${base}[${JSON.stringify(segment)}]`

/** The value with sorted keys and normalised numbers, as a plain JSON tree. */
export const normalize = (value: unknown, path = ""): Either.Either<Json, CanonicalJsonError> => {
  const fail = (reason: string) => Either.left(new CanonicalJsonError({ path, reason }))
  switch (typeof value) {
    case "string":
    case "boolean":
      return Either.right(value)
    case "number":
      if (!Number.isFinite(value)) return fail(`${String(value)} is not a finite number`)
      return Either.right(Object.is(value, -0) ? 0 : value)
    case "object": {
      if (value === null) return Either.right(null)
      if (Array.isArray(value)) {
        const out: Json[] = []
        for (let i = 0; i < value.length; i++) {
          const item = value[i] === undefined ? null : value[i] // as JSON.stringify does
          const r = normalize(item, joinPath(path, i))
          if (Either.isLeft(r)) return r
          out.push(r.right)
        }
        return Either.right(out)
      }
      if (!isPlainObject(value)) return fail(`a ${value.constructor?.name ?? "non-plain"} object is not plain JSON`)
      const out: Record<string, Json> = {}
      for (const key of Object.keys(value).sort()) {
        const member = (value as Record<string, unknown>)[key]
        if (member === undefined) continue
        const r = normalize(member, joinPath(path, key))
        if (Either.isLeft(r)) return r
        out[key] = r.right
      }
      return Either.right(out)
    }
    default:
      return fail(`a ${typeof value} is not JSON`)
  }
}

/**
 * Sorted-key JSON text. Serialised by hand: JSON.stringify would put integer-like keys ("10",
 * "9") first in numeric order whatever the insertion order, which is not the sorted order.
 */
export const stringifyCanonical = (json: Json): string => {
  if (json === null || typeof json !== "object") return JSON.stringify(json)
  if (Array.isArray(json)) return `[${(json as ReadonlyArray<Json>).map(stringifyCanonical).join(",")}]`
  const obj = json as { readonly [key: string]: Json }
  const keys = Object.keys(obj).sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stringifyCanonical(obj[k]!)}`).join(",")}}`
}

export const canonicalJson = (value: unknown): Either.Either<string, CanonicalJsonError> =>
  Either.map(normalize(value), stringifyCanonical)
