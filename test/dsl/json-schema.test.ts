/**
 * The exported JSON Schema: the committed pipelines/pipeline.schema.json is current, every shipped
 * pipeline validates against it with ajv (as an editor would check it), and broken files do not.
 */
import { Ajv } from "ajv"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { pipelineJsonSchema } from "../../src/dsl/json-schema.ts"
import { schemaText } from "../../src/cli/commands/schema.ts"

const dir = path.resolve(import.meta.dirname, "../../pipelines")
const ajv = new Ajv({ strict: true, allErrors: true })
const validate = ajv.compile(pipelineJsonSchema())
const errors = (doc: unknown): ReadonlyArray<string> =>
  validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`)

describe("pipeline JSON Schema", () => {
  it("is draft-07 and the committed copy in pipelines/ is up to date (regenerate: rstn schema --out pipelines/pipeline.schema.json)", () => {
    expect(pipelineJsonSchema().$schema).toBe("http://json-schema.org/draft-07/schema#")
    expect(fs.readFileSync(path.join(dir, "pipeline.schema.json"), "utf8")).toBe(schemaText())
  })

  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"))
  it.each(files)("accepts %s", (file) => {
    const text = fs.readFileSync(path.join(dir, file), "utf8")
    expect(text.startsWith("# yaml-language-server: $schema=./pipeline.schema.json\n")).toBe(true)
    expect(errors(parse(text))).toEqual([])
  })

  it("rejects a broken complete pipeline: a missing key, an unknown key, a value out of range, an unknown stage", () => {
    const doc = parse(fs.readFileSync(path.join(dir, "rstn-best.yaml"), "utf8"))
    delete doc.dataset
    doc.crop.threshold = 1.5
    doc.trainig = {}
    doc.test.stages[1] = "fuze"
    const found = errors(doc)
    expect(found).toContain("/ must have required property 'dataset'")
    expect(found).toContain("/crop/threshold must be <= 1")
    expect(found).toContain("/ must NOT have additional properties")
    expect(found.some((e) => e.startsWith("/test/stages/1 "))).toBe(true)
  })

  it("treats a file with extends as partial, but still checks the keys and values it writes", () => {
    expect(errors({ extends: "./rstn-best.yaml", name: "x", training: { optimizer: { lr: 1e-4 } } })).toEqual([])
    expect(errors({ name: "x", training: { optimizer: { lr: 1e-4 } } })).toContain("/ must have required property 'dataset'")
    expect(errors({ extends: "./rstn-best.yaml", crop: { margin: -1 } })).toContain("/crop/margin must be >= 0")
    expect(errors({ extends: "./rstn-best.yaml", networks: { coarse: { widht: 1 } } })).toContain("/networks/coarse must NOT have additional properties")
    // A list in a variant replaces the base's list, so its items must be complete.
    expect(errors({ extends: "./rstn-best.yaml", training: { phases: [{ epochs: 2 }] } })).toContain("/training/phases/0 must have required property 'name'")
  })

  it("describes values for editors instead of naming refinements", () => {
    const text = JSON.stringify(pipelineJsonSchema())
    expect([...text.matchAll(/"title":"([^"]*)"/g)].map((m) => m[1])).toEqual(["rstn pipeline", "rstn pipeline"])
    const schema = pipelineJsonSchema() as { properties: Record<string, { properties: Record<string, { description?: string }> }> }
    expect(schema.properties.crop!.properties.margin!.description).toBe("K, training margin in pixels.")
    expect(schema.properties.training!.properties["batch-size"]!.description).toBe("Slices per training step (reference: 1).")
  })

  it("gives integers the bounds rstn validate applies", () => {
    const schema = pipelineJsonSchema() as { properties: Record<string, unknown> }
    expect(schema.properties.seed).toMatchObject({ type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
    expect(errors({ extends: "./rstn-best.yaml", seed: 2 ** 53 })).toContain("/seed must be <= 9007199254740991")
    expect(errors({ extends: "./rstn-best.yaml", training: { "batch-size": 0 } })).toContain("/training/batch-size must be >= 1")
  })

  it("says what it can of the cross-field checks: epochs xor iterations, reserved phase names", () => {
    const phases = (...items: unknown[]) => ({ extends: "./rstn-best.yaml", training: { phases: items } })
    expect(errors(phases({ name: "S", epochs: 2 }, { name: "J", iterations: 10 }))).toEqual([])
    expect(errors(phases({ name: "S", epochs: 2, iterations: 10 }))).toContain("/training/phases/0 must match exactly one schema in oneOf")
    expect(errors(phases({ name: "S" }))).toContain("/training/phases/0 must match exactly one schema in oneOf")
    expect(errors(phases({ name: "noisy", epochs: 1 }))).toContain("/training/phases/0/name must NOT be valid")
    expect(errors(phases({ name: "last", epochs: 1 }))).toContain("/training/phases/0/name must NOT be valid")
    // A variant may change the noisy phase's rate alone (its base gives the length); a complete file may not.
    expect(errors({ extends: "./rstn-best.yaml", training: { "noisy-fine-tune": { lr: 1e-7 } } })).toEqual([])
    const doc = parse(fs.readFileSync(path.join(dir, "rstn-best.yaml"), "utf8"))
    doc.training["noisy-fine-tune"] = { lr: 1e-7 }
    expect(errors(doc)).toContain("/training/noisy-fine-tune must match exactly one schema in oneOf")
  })
})
