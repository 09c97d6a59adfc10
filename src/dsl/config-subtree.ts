/**
 * The part of a pipeline a runtime node reads, in YAML form: kebab-case keys at their YAML
 * paths (`{ training: { optimizer: { weight-decay } } }`), so a node's configuration hashes
 * exactly what it depends on and `rstn plan` can name the edited key as the user wrote it.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { parsePath } from "./overrides.ts"
import { Pipeline } from "./pipeline.ts"
import { formatPath } from "./tree.ts"

const encoded = new WeakMap<Pipeline, unknown>()
const encode = (p: Pipeline): unknown => {
  let e = encoded.get(p)
  if (e === undefined) {
    e = Schema.encodeSync(Pipeline)(p)
    encoded.set(p, e)
  }
  return e
}

/**
 * The sub-trees at the given YAML paths (`training.optimizer`, `test.stages[2]`, `crop`), nested
 * under their paths in one JSON value; a list index becomes a key (`{ test: { stages: { 2: ... } } }`)
 * so a selection of items stays plain JSON. A path that does not exist is a programming error.
 */
export const configSubtree = (p: Pipeline, paths: ReadonlyArray<string>): unknown => {
  const root = encode(p)
  const out: Record<string | number, unknown> = {}
  for (const text of paths) {
    const parsed = parsePath(text)
    if (Either.isLeft(parsed)) throw new RangeError(`configSubtree: ${parsed.left.message}`)
    const path = parsed.right.path
    let source: unknown = root
    for (const seg of path) {
      if (typeof source !== "object" || source === null || !(seg in source)) {
        throw new RangeError(`configSubtree: no ${formatPath(path)} in the pipeline`)
      }
      source = (source as Record<string | number, unknown>)[seg]
    }
    let target: Record<string | number, unknown> = out
    path.forEach((seg, i) => {
      // A copy: the encoded pipeline is shared by every call.
      if (i === path.length - 1) target[seg] = structuredClone(source)
      else target = (target[seg] ??= {}) as Record<string | number, unknown>
    })
  }
  return out
}
