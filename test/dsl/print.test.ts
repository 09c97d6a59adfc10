import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { loadPipeline, resolvePipelineText } from "../../src/dsl/load.ts"
import { pipelineYaml } from "../../src/dsl/print.ts"

const dir = path.resolve(import.meta.dirname, "../../pipelines")

describe("pipelineYaml", () => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"))
  it.each(files)("prints %s as a pipeline that loads back to the same value", async (file) => {
    const r = await Effect.runPromise(loadPipeline(path.join(dir, file), []))
    const text = pipelineYaml(r)
    const again = resolvePipelineText({ file: "/elsewhere/resolved.yaml", text })
    expect(Either.isRight(again) && again.right.pipeline).toEqual(r.pipeline)
  })

  it("with origins, says which file, line or flag set each value, or that it is a default", async () => {
    const r = await Effect.runPromise(loadPipeline(path.join(dir, "kernel-5x5.yaml"), ["crop.margin=12"]))
    const lines = pipelineYaml(r, { origins: true }).split("\n")
    expect(lines[0]).toBe(`# Resolved pipeline from ${path.join(dir, "kernel-5x5.yaml")} <- ${path.join(dir, "rstn-best.yaml")}, --set crop.margin=12`)
    expect(lines).toContain(`name: kernel-5x5 # ${path.join(dir, "kernel-5x5.yaml")}:8`)
    expect(lines).toContain(`seed: 42 # ${path.join(dir, "rstn-best.yaml")}:9`)
    expect(lines).toContain("  margin: 12 # --set crop.margin=12")
    expect(lines).toContain("    - kernel: 5 # " + `${path.join(dir, "kernel-5x5.yaml")}:11`)
    expect(lines).toContain("      activation: none # " + `${path.join(dir, "kernel-5x5.yaml")}:11`)
    expect(lines).toContain("  on-case-error: skip # " + `${path.join(dir, "rstn-best.yaml")}:84`)
  })
})
