/** The annotated example in README.md "Pipeline files" is a valid pipeline (as a file in pipelines/). */
import { Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { expect, it } from "vitest"
import { resolvePipelineText } from "../../src/dsl/load.ts"

it("README's pipeline example validates and means what its comments say", () => {
  const root = path.resolve(import.meta.dirname, "../..")
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const section = readme.split("\n## Pipeline files\n")[1]
  expect(section).toBeDefined()
  const example = section!.split("```yaml\n")[1]!.split("```")[0]!
  const r = resolvePipelineText({
    file: path.join(root, "pipelines/readme-example.yaml"),
    text: example,
    files: { [path.join(root, "pipelines/rstn-best.yaml")]: fs.readFileSync(path.join(root, "pipelines/rstn-best.yaml"), "utf8") }
  })
  expect(Either.isRight(r) ? [] : r.left.diagnostics).toEqual([])
  if (Either.isRight(r)) {
    const p = r.right.pipeline
    const loop = p.test.stages[2]!
    expect(loop.kind === "converge-until" && [loop.maxRounds, loop.body[2]]).toEqual([5, { kind: "fine", weights: "noisy" }])
    expect(p.training.phases.map((ph) => ph.name)).toEqual(["S", "I", "J"])
    expect(p.run.dir).toBe(path.resolve("runs/my-variant"))
  }
})
