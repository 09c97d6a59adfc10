import { Either } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { createFcn8s, referenceFcn8s } from "../../../src/ops/nets/fcn8s.ts"
import { disposeParams } from "../../../src/ops/nets/param.ts"
import { loadPretrained, readWeights, restoreWeights } from "../../../src/ops/nets/pretrained.ts"
import { createRstn } from "../../../src/ops/nets/rstn.ts"
import { releaseSaliency } from "../../../src/ops/nets/saliency.ts"
import { CheckpointMismatchError, decodeCheckpoint, encodeCheckpoint } from "../../../src/ops/train/checkpoint.ts"
import { initBackend } from "../../../src/runtime/backend.ts"

beforeAll(async () => {
  await initBackend("cpu")
})

const net = { ...referenceFcn8s, width: 1 / 16, dropout: 0 }

/** A weights file holding one FCN-8s under `fcn8s/` (as a converted ImageNet FCN-8s would be). */
const fcnFile = (width: number) => {
  const fcn = createFcn8s("coarse", { ...net, width }, 77)
  const tensors = readWeights(fcn.params).map((t) => ({ ...t, name: t.name.replace(/^coarse\//, "fcn8s/") }))
  disposeParams(fcn.params)
  const bytes = encodeCheckpoint({ architecture: { arch: "fcn8s" }, iteration: 0, tensors, optimizer: null, rng: {}, extra: null })
  return Either.getOrThrow(decodeCheckpoint(bytes, "imagenet-fcn8s.bin")).tensors
}

describe("pretrained weights", () => {
  it("one FCN-8s file initialises both the coarse and the fine network", () => {
    const tensors = fcnFile(1 / 16)
    const model = createRstn({ coarse: net, fine: net, saliency: releaseSaliency }, 1)
    const report = Either.getOrThrow(
      loadPretrained(model.params, tensors, { file: "imagenet-fcn8s.bin", mappings: [["fcn8s/", "coarse/"], ["fcn8s/", "fine/"]] })
    )
    expect(report.kept).toEqual(model.params.filter((p) => p.net === "saliency").map((p) => p.name))
    const source = new Map(tensors.map((t) => [t.name, t.data]))
    for (const p of model.params.filter((q) => q.net !== "saliency")) {
      expect(Array.from(p.variable.dataSync())).toEqual(Array.from(source.get(p.name.replace(/^(coarse|fine)\//, "fcn8s/"))!))
    }
    model.dispose()
  })

  it("a file of another width fails with the reshaped tensors and assigns nothing", () => {
    const tensors = fcnFile(1 / 8)
    const model = createRstn({ coarse: net, fine: net, saliency: null }, 1)
    const before = Array.from(model.byName.get("coarse/conv1_1/kernel")!.variable.dataSync())
    const r = loadPretrained(model.params, tensors, { file: "w.bin", mappings: [["fcn8s/", "coarse/"]] })
    if (Either.isRight(r)) throw new Error("expected a mismatch")
    expect(r.left).toBeInstanceOf(CheckpointMismatchError)
    expect(r.left.shapeDiffers[0]).toEqual({ name: "fcn8s/conv1_1/kernel -> coarse/conv1_1/kernel", expected: [3, 3, 3, 4], found: [3, 3, 3, 8] })
    expect(r.left.hint).toMatch(/mappings/)
    expect(Array.from(model.byName.get("coarse/conv1_1/kernel")!.variable.dataSync())).toEqual(before)
    model.dispose()
  })

  it("unmapped names are unexpected unless skipped; requireAll reports what stayed seeded", () => {
    const tensors = fcnFile(1 / 16)
    const model = createRstn({ coarse: net, fine: net, saliency: null }, 1)
    const unmapped = loadPretrained(model.params, tensors, { file: "w.bin" })
    expect(Either.isLeft(unmapped) && unmapped.left.unexpected.length).toBe(tensors.length)
    const skipped = loadPretrained(model.params, tensors, { file: "w.bin", skip: ["fcn8s/"] })
    expect(Either.isRight(skipped) && skipped.right.loaded.length).toBe(0)
    const strict = loadPretrained(model.params, tensors, { file: "w.bin", mappings: [["fcn8s/", "coarse/"]], requireAll: true })
    expect(Either.isLeft(strict) && strict.left.missing.every((n) => n.startsWith("fine/"))).toBe(true)
    model.dispose()
  })

  it("restoreWeights demands exactly the model's tensors", () => {
    const a = createRstn({ coarse: net, fine: net, saliency: releaseSaliency }, 1)
    const b = createRstn({ coarse: net, fine: net, saliency: null }, 2)
    const r = restoreWeights(b.params, readWeights(a.params), "a.bin")
    if (Either.isRight(r)) throw new Error("expected a mismatch")
    expect(r.left.unexpected).toEqual(["saliency/conv1/kernel", "saliency/conv1/bias", "saliency/conv2/kernel", "saliency/conv2/bias"])
    expect(r.left.message).toMatch(/^a\.bin: checkpoint does not fit this architecture: unexpected saliency\/conv1\/kernel/)
    const c = createRstn({ coarse: net, fine: net, saliency: releaseSaliency }, 3)
    expect(Either.isRight(restoreWeights(c.params, readWeights(a.params), "a.bin"))).toBe(true)
    expect(Array.from(c.byName.get("fine/fc7/kernel")!.variable.dataSync())).toEqual(Array.from(a.byName.get("fine/fc7/kernel")!.variable.dataSync()))
    for (const m of [a, b, c]) m.dispose()
  })
})
