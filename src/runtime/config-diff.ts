/**
 * Differences between two canonical configurations, as the key paths a user edited: `rstn plan`
 * says a node "will re-run because training.optimizer.lr: 0.001 → 0.0005". Objects are compared
 * key by key, arrays index by index; a value that changed type is one change at its own path.
 */
import { type Json, joinPath, stringifyCanonical } from "./canonical-json.ts"

export interface ConfigChange {
  /** Dotted path, `[i]` for array items, e.g. `test.stages[2].converge-until.threshold`. */
  readonly path: string
  /** `undefined` when the key did not exist on that side. */
  readonly before: Json | undefined
  readonly after: Json | undefined
}

const isObject = (j: Json | undefined): j is { readonly [key: string]: Json } =>
  typeof j === "object" && j !== null && !Array.isArray(j)

const equal = (a: Json | undefined, b: Json | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && stringifyCanonical(a) === stringifyCanonical(b))

/** Every changed leaf, in sorted key order (so the first one is stable). */
export const diffConfig = (before: Json | undefined, after: Json | undefined, path = ""): ReadonlyArray<ConfigChange> => {
  if (equal(before, after)) return []
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
    return keys.flatMap((k) => diffConfig(before[k], after[k], joinPath(path, k)))
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const a = before as ReadonlyArray<Json>
    const b = after as ReadonlyArray<Json>
    const out: ConfigChange[] = []
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...diffConfig(a[i], b[i], joinPath(path, i)))
    return out
  }
  return [{ path, before, after }]
}

const show = (j: Json | undefined): string => (j === undefined ? "(absent)" : stringifyCanonical(j))

/** `training.optimizer.lr: 0.001 → 0.0005`; the root path shows as `(config)`. */
export const formatChange = (c: ConfigChange): string => `${c.path || "(config)"}: ${show(c.before)} → ${show(c.after)}`
