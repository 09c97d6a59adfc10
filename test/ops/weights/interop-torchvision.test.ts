/**
 * Interop with PyTorch: torchvision's VGG16 with seeded random weights, saved by torch.save (zip
 * and legacy formats) and as safetensors, loads through the torchvision-vgg16 map into FCN-8s,
 * and the VGG trunk computes what PyTorch computes on the same input.
 *
 * Size: the full VGG16 conv trunk (14.7M parameters, every layer at its real shape) runs on a
 * 1x3x64x64 input; fc6/fc7 (the 25088x4096 reshape) are checked on torchvision's layout at 1/16 of
 * the channels (7x7x32 -> 256) on a 224x224 input, where fc6 sees exactly one 7x7 window, so the
 * reshaped kernel's centre output is the Linear layer's output. The full-size fc6 alone is 411 MB
 * of float32 and would add nothing the small one does not check (the same code, index for index).
 */
import * as tf from "@tensorflow/tfjs"
import { Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createFcn8s, createVggTrunk, fcn8sEncode, referenceFcn8s, vggTrunkForward } from "../../../src/ops/nets/fcn8s.ts"
import { convParams } from "../../../src/ops/nets/layers.ts"
import { disposeParams } from "../../../src/ops/nets/param.ts"
import { loadPretrained } from "../../../src/ops/nets/pretrained.ts"
import { readMappedWeights, readWeightsBytes } from "../../../src/ops/weights/weights-file.ts"
import { initBackend } from "../../../src/runtime/backend.ts"
import { PYTHON, requireTool, toolRuns, TORCHVISION } from "../../support/external-tool.ts"
import { HERE, run } from "../nifti/external-tools.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-torchvision-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const f32 = (name: string): Float32Array => {
  const b = fs.readFileSync(path.join(dir, name))
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
}
const bytes = (name: string) => new Uint8Array(fs.readFileSync(path.join(dir, name)))

const asBytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)

/** Max |a - b| relative to max |b|: the "within 1e-4 (max abs, relative to scale)". */
const relativeError = (a: Float32Array, b: Float32Array): number => {
  expect(a.length).toBe(b.length)
  let diff = 0
  let scale = 0
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!))
    scale = Math.max(scale, Math.abs(b[i]!))
  }
  expect(scale).toBeGreaterThan(0)
  return diff / scale
}

/** NCHW (PyTorch) -> NHWC (tfjs), and back. */
const toNhwc = (x: Float32Array, shape: [number, number, number, number]) => tf.transpose(tf.tensor4d(x, shape), [0, 2, 3, 1]) as tf.Tensor4D
const toNchw = (x: tf.Tensor4D) => Float32Array.from(tf.transpose(x, [0, 3, 1, 2]).dataSync())

describe.runIf(toolRuns(TORCHVISION))("torchvision's VGG16 in rstn", () => {
  beforeAll(async () => {
    requireTool(TORCHVISION)
    run(PYTHON, [path.join(HERE, "..", "weights", "torchvision-write-fixtures.py"), dir])
    await initBackend("cpu")
  }, 120_000)

  it("the full conv trunk, loaded from torch.save's zip, matches PyTorch's features output", () => {
    const mapped = Either.getOrThrow(readMappedWeights(bytes("vgg16-features.pth"), "vgg16-features.pth", { map: "torchvision-vgg16", skip: ["classifier."] }))
    expect(mapped.tensors).toHaveLength(26)
    const { trunk } = createVggTrunk("coarse", referenceFcn8s, 7)
    const params = trunk.flat().flatMap(convParams)
    try {
      const report = Either.getOrThrow(loadPretrained(params, mapped.tensors, { file: "vgg16-features.pth", mappings: [["fcn8s/", "coarse/"]], requireAll: true }))
      expect(report.kept).toEqual([])
      const before = tf.memory().numTensors
      const out = tf.tidy(() => toNchw(vggTrunkForward(trunk, toNhwc(f32("vgg16-input.f32"), [1, 3, 64, 64]), { training: false }).at(-1)!))
      expect(tf.memory().numTensors).toBe(before)
      const error = relativeError(out, f32("vgg16-output.f32"))
      console.log(`VGG16 trunk, 1x3x64x64: max |rstn - PyTorch| / max |PyTorch| = ${error.toExponential(2)}`)
      expect(error).toBeLessThan(1e-4)
    } finally {
      disposeParams(params)
    }
  }, 120_000)

  it("the legacy format and safetensors hold the same tensors as the zip", () => {
    const zip = Either.getOrThrow(readWeightsBytes(bytes("vgg16-features.pth"), "z"))
    for (const [file, format] of [
      ["vgg16-features-legacy.pth", "torch-legacy"],
      ["vgg16-features.safetensors", "safetensors"]
    ] as const) {
      const other = Either.getOrThrow(readWeightsBytes(bytes(file), file))
      expect(other.format).toBe(format)
      expect(other.tensors.map((t) => [t.name, t.shape])).toEqual(zip.tensors.map((t) => [t.name, t.shape]))
      // Byte for byte: vitest's toEqual walks 14.7M elements one by one and takes minutes.
      other.tensors.forEach((t, i) => expect(asBytes(t.data).equals(asBytes(zip.tensors[i]!.data)), `${file}: ${t.name}`).toBe(true))
    }
  })

  it("fc6 and fc7 become 7x7 and 1x1 convolutions that compute the classifier's Linear layers", () => {
    const mapped = Either.getOrThrow(readMappedWeights(bytes("small.pth"), "small.pth", { map: "torchvision-vgg16" }))
    expect(mapped.dropped).toEqual(["classifier.6.weight", "classifier.6.bias"])
    const model = createFcn8s("coarse", { ...referenceFcn8s, width: 1 / 16, dropout: 0 }, 7)
    try {
      const report = Either.getOrThrow(loadPretrained(model.params, mapped.tensors, { file: "small.pth", mappings: [["fcn8s/", "coarse/"]] }))
      // Score and upsampling layers are FCN-8s's own: they keep their initial values.
      expect(report.kept).toEqual([
        "coarse/score_fr/kernel",
        "coarse/score_fr/bias",
        "coarse/score_pool4/kernel",
        "coarse/score_pool4/bias",
        "coarse/score_pool3/kernel",
        "coarse/score_pool3/bias",
        "coarse/upscore2/kernel",
        "coarse/upscore_pool4/kernel",
        "coarse/upscore8/kernel"
      ])
      const [pool5, fc7] = tf.tidy(() => {
        const { pools, fc7 } = fcn8sEncode(model, toNhwc(f32("small-input.f32"), [1, 3, 224, 224]), { training: false })
        return [toNchw(pools.at(-1)!), Float32Array.from(tf.slice(fc7, [0, 3, 3, 0], [1, 1, 1, -1]).dataSync())]
      })
      expect(relativeError(pool5, f32("small-pool5.f32"))).toBeLessThan(1e-4)
      const error = relativeError(fc7, f32("small-fc7.f32"))
      console.log(`fc7 (via the reshaped fc6), 1x3x224x224 at width 1/16: relative error ${error.toExponential(2)}`)
      expect(error).toBeLessThan(1e-4)
    } finally {
      disposeParams(model.params)
    }
  })

  it("a truncated torch.save zip (PyTorch's writer: sizes in data descriptors) names the tensor cut off", () => {
    const whole = bytes("vgg16-features.pth")
    for (const cut of [whole.length >> 1, whole.length - 1_000_000]) {
      const e = readWeightsBytes(whole.subarray(0, cut), "cut.pth")
      expect(Either.isLeft(e) && e.left.message).toMatch(
        /^cut\.pth: tensor features\.\d+\.(weight|bias): its storage \d+ (is missing from the file|holds \d+ of \d+ float32 values): (the file is )?truncated/
      )
    }
    const e = readWeightsBytes(whole.subarray(0, whole.length - 100), "cut.pth")
    expect(Either.isLeft(e) && e.left.message).toBe("cut.pth: the zip archive's central directory is missing: the file is truncated")
  })

  it("refuses the pickle of an object whose reduce calls os.system, and nothing runs", () => {
    const e = readWeightsBytes(bytes("evil.pth"), "evil.pth")
    expect(Either.isLeft(e) && e.left.message).toBe(
      "evil.pth: the pickle asks for the Python global posix.system, which rstn refuses to load: it could run code, so the file is not loaded"
    )
    expect(fs.existsSync(path.join(dir, "pwned"))).toBe(false)
  })
})
