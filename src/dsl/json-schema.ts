/**
 * The JSON Schema of pipeline files (draft-07, what effect's `JSONSchema.make` emits and what
 * yaml-language-server reads), generated from the encoded (YAML) side of the pipeline schema.
 *
 * A file with `extends` is a partial pipeline: it only overrides what it writes. Its schema is
 * therefore the same tree with no required keys below any mapping it can reach through
 * mappings; list items stay complete, because a list in a variant replaces the base's whole
 * list. The top level is that partial schema (so an editor completes every key), and a file
 * without `extends` must also satisfy the complete one (`if`/`else`). Cross-field checks and the
 * merged result are beyond JSON Schema: `rstn validate` does those.
 */
import * as JSONSchema from "effect/JSONSchema"
import { Pipeline } from "./pipeline.ts"

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

const isObject = (j: Json | undefined): j is JsonObject => typeof j === "object" && j !== null && !Array.isArray(j)

const fileKeys: JsonObject = {
  extends: {
    type: "string",
    minLength: 1,
    description: "A pipeline file this one varies (relative to this file). Mappings merge key by key; lists and scalars replace."
  },
  set: {
    type: "object",
    description: "Path overrides applied after extends, like --set: test.stages[2].converge-until.threshold: 0.95",
    propertyNames: { pattern: "^[A-Za-z0-9_-]+(\\[\\d+\\])*(\\.([A-Za-z0-9_-]+|\\d+)(\\[\\d+\\])*)*$" }
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
  return out
}

export const pipelineJsonSchema = (): JsonObject => {
  const generated = JSONSchema.make(Pipeline) as unknown as JsonObject
  const { $schema, $defs, ...full } = generated
  const defs = isObject($defs) ? $defs : {}
  const properties = isObject(full.properties) ? full.properties : {}
  const complete: JsonObject = { ...full, properties: { ...properties, ...fileKeys } }
  const top = partial(complete, defs) as JsonObject
  return {
    $schema: typeof $schema === "string" ? $schema : "http://json-schema.org/draft-07/schema#",
    ...top,
    if: { required: ["extends"], properties: { extends: { type: "string" } } },
    else: complete,
    ...(Object.keys(defs).length > 0 ? { $defs: defs } : {})
  }
}
