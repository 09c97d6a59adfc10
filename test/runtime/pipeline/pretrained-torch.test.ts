/**
 * A pipeline's `networks.pretrained.file` naming PyTorch or safetensors weights directly (issue
 * 14): the training node reads any format, maps it by `map`, and fails naming the file and the
 * tensors when they do not fit.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadPipeline } from "../../../src/dsl/load.ts"
import { readWeights } from "../../../src/ops/nets/pretrained.ts"
import { createRstn } from "../../../src/ops/nets/rstn.ts"
import type { RunEvent } from "../../../src/runtime/events.ts"
import { rstnConfig } from "../../../src/runtime/pipeline-engine.ts"
import { safetensorsFile, smallVgg16, torchZip } from "../../ops/weights/torch-fixture.ts"
import { runSegments } from "./child-run.ts"
import { makeScenario, runInProcess, writeTinyPhantoms } from "./fault-fixture.ts"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-pretrained-torch-"))
const baseData = path.join(root, "data")
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))


const errorsOf = (runDir: string) => runSegments(runDir).at(-1)!.filter((e): e is Extract<RunEvent, { _tag: "error" }> => e._tag === "error")

describe("a pipeline naming PyTorch weights directly", () => {
  beforeAll(() => writeTinyPhantoms(baseData), 60_000)

  it("VGG16's 5 blocks from a .pth for a 3-block network: the training node fails naming the file and the tensors without a place", async () => {
    const s = makeScenario(root, "vgg-blocks", baseData)
    const weights = path.join(s.dir, "vgg16-small.pth")
    fs.writeFileSync(weights, torchZip(smallVgg16()))
    // Plain layers (norm: none) as VGG16 has them: convolutions with biases.
    const r = await runInProcess(s.file, {
      overrides: [
        "networks.coarse.norm=none",
        "networks.fine.norm=none",
        `networks.pretrained={ file: ${JSON.stringify(weights)}, map: torchvision-vgg16, mappings: [[fcn8s/, coarse/], [fcn8s/, fine/]] }`
      ]
    })
    expect(r.code).toBe(1)
    const [error] = errorsOf(s.runDir)
    expect(error!.file).toBe(weights)
    expect(error!.message).toContain(
      `${weights}: checkpoint does not fit this architecture: unexpected fcn8s/conv4_1/kernel (file: features.17.weight), fcn8s/conv4_1/bias (file: features.17.bias), `
    )
    // 3 blocks end at 16 channels: fc6 reads 7x7x16, the file's fc6 7x7x32.
    expect(error!.message).toContain("shape differs for fcn8s/fc6/kernel (file: classifier.0.weight) -> coarse/fc6/kernel (file [7,7,32,256], model [7,7,16,256])")
  }, 60_000)

  it("a .safetensors file of the networks' own parameters initialises every one of them (require-all), and the run completes", async () => {
    const s = makeScenario(root, "safetensors", baseData)
    const weights = path.join(s.dir, "rstn.safetensors")
    const { pipeline } = await Effect.runPromise(loadPipeline(s.file, []))
    const model = createRstn(rstnConfig(pipeline), 5)
    fs.writeFileSync(weights, safetensorsFile(readWeights(model.params)))
    model.dispose()

    const pretrained = (file: string) => [`networks.pretrained={ file: ${JSON.stringify(file)}, require-all: true }`]
    const r = await runInProcess(s.file, { overrides: pretrained(weights) })
    expect(r.code, r.output).toBe(0)
    expect(errorsOf(s.runDir)).toEqual([])
    // Training started from the file's weights (seed 5), not the pipeline's own initialisation.
    const firstLoss = (output: string) => /phase S: iteration 1\/6, loss (\S+)/.exec(output)![1]
    const own = await runInProcess(makeScenario(root, "own-init", baseData).file)
    expect(own.code).toBe(0)
    expect(firstLoss(r.output)).not.toBe(firstLoss(own.output))

    // Rerun with the same file: every trained network is reused. Replace the file's contents
    // (other weights, same path): the training nodes' keys change and they train again from it.
    const trainingStarted = () => {
      const events = runSegments(s.runDir).at(-1)!
      const plan = events.find((e) => e._tag === "run-started")
      const training = new Set(plan?._tag === "run-started" ? plan.nodes.filter((n) => n.group === "training").map((n) => n.key) : [])
      return events.filter((e) => e._tag === "node-started" && training.has(e.key)).length
    }
    expect((await runInProcess(s.file, { overrides: pretrained(weights) })).code).toBe(0)
    expect(trainingStarted()).toBe(0)
    const model3 = createRstn(rstnConfig(pipeline), 6)
    fs.writeFileSync(weights, safetensorsFile(readWeights(model3.params)))
    model3.dispose()
    const replaced = await runInProcess(s.file, { overrides: pretrained(weights) })
    expect(replaced.code, replaced.output).toBe(0)
    expect(trainingStarted()).toBeGreaterThan(0)
    expect(firstLoss(replaced.output)).not.toBe(firstLoss(r.output))

    // The same file without one tensor: require-all names the parameter it would leave uninitialised.
    const partial = path.join(s.dir, "partial.safetensors")
    const model2 = createRstn(rstnConfig(pipeline), 5)
    fs.writeFileSync(partial, safetensorsFile(readWeights(model2.params).filter((t) => t.name !== "fine/conv1_1/kernel")))
    model2.dispose()
    const again = makeScenario(root, "safetensors-partial", baseData)
    const failed = await runInProcess(again.file, { overrides: pretrained(partial) })
    expect(failed.code).toBe(1)
    expect(errorsOf(again.runDir)[0]!.message).toContain(`${partial}: checkpoint does not fit this architecture: missing fine/conv1_1/kernel`)
  }, 120_000)
})
