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
})
