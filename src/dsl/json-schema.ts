/**
 * The JSON Schema of pipeline files (draft-07, what effect's `JSONSchema.make` emits and what
 * yaml-language-server reads), generated from the encoded (YAML) side of the pipeline schema.
 *
 * A file with `extends` is a partial pipeline: it only overrides what it writes. Its schema is
 * therefore the same tree with no required keys below any mapping it can reach through
 * mappings; list items stay complete, because a list in a variant replaces the base's whole
 * list. The top level is that partial schema (so an editor completes every key), and a file
 * without `extends` must also satisfy the complete one (`if`/`else`).
 *
 * What effect emits is adjusted for editors, which show titles and descriptions while one types:
 * refinement names used as titles ("nonNegative", "between(0, 1)") are dropped, so the
 * descriptions (the field's, else what its value may be) show; integers get the bounds
 * `rstn validate` applies (1 rather than "more than 0", and the 2^53 limit); and the checks that
 * JSON Schema can say are added: a phase gives epochs or iterations, not both, and is not named
 * after a reserved name. The other cross-field checks and the merged result are `rstn validate`'s.
 */
import * as JSONSchema from "effect/JSONSchema"
import { LAST, NOISY, Pipeline } from "./pipeline.ts"

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

const isObject = (j: Json | undefined): j is JsonObject => typeof j === "object" && j !== null && !Array.isArray(j)

/** A path as `set:` and `--set` take it: keys, `[2]` or `.2` indices. */
const PATH_PATTERN = "^[A-Za-z0-9_-]+(\\[\\d+\\])*(\\.([A-Za-z0-9_-]+|\\d+)(\\[\\d+\\])*)*$"

const fileKeys: JsonObject = {
  extends: {
    type: "string",
    minLength: 1,
    description: "A pipeline file this one varies (relative to this file). Mappings merge key by key; lists and scalars replace."
  },
  set: {
    type: "object",
    description: "Path overrides applied after extends, like --set: test.stages[2].converge-until.threshold: 0.95",
    propertyNames: { pattern: PATH_PATTERN }
  },
  sweep: {
    type: "object",
    description: "The runs this file stands for (rstn sweep FILE): each variant (a name and its path overrides) times every combination of the grid's values.",
    additionalProperties: false,
    properties: {
      variants: {
        type: "object",
        description: "Named variants, each a mapping of path overrides: kernel-1x1: { saliency.layers: [...] }",
        propertyNames: { pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$" },
        additionalProperties: { type: "object", minProperties: 1, propertyNames: { pattern: PATH_PATTERN } }
      },
      grid: {
        type: "object",
        description: "Axes, each a path and its values: test.stages[2].converge-until.threshold: [0.95, 0.99]",
        propertyNames: { pattern: PATH_PATTERN },
        additionalProperties: { type: "array", minItems: 1 }
      }
    }
  }
}

/** Removes `required` along every path of mappings, inlining `$ref`s met on the way. */
const partial = (schema: Json, defs: JsonObject): Json => {
  if (!isObject(schema)) return schema
  const ref = schema.$ref
  if (typeof ref === "string" && ref.startsWith("#/$defs/")) {
    const target = defs[ref.slice("#/$defs/".length)]
    if (target !== undefined) return partial(target, defs)
  }
  const out: JsonObject = { ...schema }
  delete out.required
  if (isObject(schema.properties)) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, partial(v, defs)]))
  }
  for (const key of ["anyOf", "oneOf"] as const) {
    const branches = schema[key]
    if (Array.isArray(branches)) out[key] = branches.map((b) => partial(b, defs))
  }
  // Alternatives that only required keys (epochs or iterations) say nothing once nothing is
  // required: the base file may supply the key.
  if (Array.isArray(out.oneOf) && out.oneOf.every((b) => isObject(b) && b.required === undefined && Object.keys(b).every((k) => k === "description" || k === "properties"))) {
    delete out.oneOf
  }
  return out
}

/** Applies `f` to every schema object in the tree, children first. */
const mapSchemas = (json: Json, f: (o: JsonObject) => JsonObject): Json => {
  if (Array.isArray(json)) return json.map((j) => mapSchemas(j, f))
  if (!isObject(json)) return json
  return f(Object.fromEntries(Object.entries(json).map(([k, v]) => [k, mapSchemas(v, f)])))
}

const forEditors = (o: JsonObject): JsonObject => {
  const { title: _, ...out } = o
  if (out.type === "integer") {
    // "more than 0" is "at least 1" for integers, which is what an editor should say.
    if (typeof out.exclusiveMinimum === "number") {
      out.minimum = Math.floor(out.exclusiveMinimum) + 1
      delete out.exclusiveMinimum
    }
    if (typeof out.exclusiveMaximum === "number") {
      out.maximum = Math.ceil(out.exclusiveMaximum) - 1
      delete out.exclusiveMaximum
    }
    // Integers beyond 2^53 cannot be read exactly: rstn validate says they are out of range.
    out.minimum ??= Number.MIN_SAFE_INTEGER
    out.maximum ??= Number.MAX_SAFE_INTEGER
  }
  return out
}

/**
 * Exactly one of epochs and iterations (checks.ts says the same to rstn validate). Each branch
 * names its property again (with no constraint): strict validators want every required
 * property declared beside the `required` that names it.
 */
const oneLength: JsonObject = {
  oneOf: [
    { required: ["epochs"], properties: { epochs: {} }, description: "a length in epochs" },
    { required: ["iterations"], properties: { iterations: {} }, description: "a length in iterations" }
  ]
}

const objectAt = (root: JsonObject, path: ReadonlyArray<string | number>): JsonObject => {
  let node: Json | undefined = root
  for (const seg of path) node = Array.isArray(node) ? node[seg as number] : isObject(node) ? node[seg] : undefined
  if (!isObject(node)) throw new Error(`pipeline JSON Schema: nothing at ${path.join("/")} (did the schema's shape change?)`)
  return node
}

/** The checks of single training phases that JSON Schema can express, added in place. */
const addPhaseRules = (full: JsonObject): void => {
  const training = objectAt(full, ["properties", "training", "properties"])
  const phase = objectAt(training, ["phases", "items"])
  Object.assign(phase, oneLength)
  const name = objectAt(phase, ["properties", "name"])
  name.not = { enum: [LAST, NOISY], description: `${LAST} and ${NOISY} are reserved` }
  name.description = `${String(name.description)} Not ${LAST} or ${NOISY}: those are reserved.`
  const noisy = objectAt(training, ["noisy-fine-tune"]).anyOf
  const noisyObject = Array.isArray(noisy) ? noisy.find((b) => isObject(b) && b.type === "object") : undefined
  if (!isObject(noisyObject)) throw new Error("pipeline JSON Schema: training.noisy-fine-tune has no mapping branch (did the schema's shape change?)")
  Object.assign(noisyObject, oneLength)
}

export const pipelineJsonSchema = (): JsonObject => {
  const generated = mapSchemas(JSONSchema.make(Pipeline) as unknown as Json, forEditors) as JsonObject
  generated.title = "rstn pipeline"
  const { $schema, $defs, ...full } = generated
  const defs = isObject($defs) ? $defs : {}
  const properties = isObject(full.properties) ? full.properties : {}
  const complete: JsonObject = { ...full, properties: { ...properties, ...fileKeys } }
  addPhaseRules(complete)
  const top = partial(complete, defs) as JsonObject
  return {
    $schema: typeof $schema === "string" ? $schema : "http://json-schema.org/draft-07/schema#",
    ...top,
    if: { required: ["extends"], properties: { extends: { type: "string" } } },
    else: complete,
    ...(Object.keys(defs).length > 0 ? { $defs: defs } : {})
  }
}
