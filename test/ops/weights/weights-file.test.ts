import * as tf from "@tensorflow/tfjs"
import { Either } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { createVggTrunk, referenceFcn8s } from "../../../src/ops/nets/fcn8s.ts"
import { convParams } from "../../../src/ops/nets/layers.ts"
import { disposeParams } from "../../../src/ops/nets/param.ts"
import { loadPretrained } from "../../../src/ops/nets/pretrained.ts"
import { createRstn } from "../../../src/ops/nets/rstn.ts"
import { releaseSaliency } from "../../../src/ops/nets/saliency.ts"
import { applyMap, linearToConv, oihwToHwio } from "../../../src/ops/weights/maps.ts"
import { readMappedWeights, readWeightsBytes } from "../../../src/ops/weights/weights-file.ts"
import { WeightsFileError } from "../../../src/ops/weights/weights-error.ts"
import { initBackend } from "../../../src/runtime/backend.ts"
import { type FixtureTensor, osSystemPickle, ramp, safetensorsFile, smallVgg16, stateDictPickle, torchZip } from "./torch-fixture.ts"

beforeAll(async () => {
  await initBackend("cpu")
})


const leftOf = <E>(e: Either.Either<unknown, E>): E => {
  if (Either.isRight(e)) throw new Error("expected a failure")
  return e.left
}

describe("reading weight files", () => {
  const tensors: FixtureTensor[] = [
    { name: "a.weight", shape: [2, 3], data: ramp(6) },
    { name: "a.bias", shape: [2], data: ramp(2) }
  ]

  it.each([
    ["torch-zip", torchZip(tensors)],
    ["safetensors", safetensorsFile(tensors)]
  ])("reads every tensor of a %s file with its name, shape and values", (format, bytes) => {
    const r = Either.getOrThrow(readWeightsBytes(bytes, "w.bin"))
    expect(r.format).toBe(format)
    expect(r.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ["a.weight", "float32", [2, 3]],
      ["a.bias", "float32", [2]]
    ])
    expect(Array.from(r.tensors[0]!.data)).toEqual(Array.from(tensors[0]!.data))
  })

  it("names the file and the tensor whose storage a truncated zip lost", () => {
    const full = torchZip(smallVgg16())
    // Cut inside the storage of classifier.0.weight (the largest, written after the convolutions).
    const e = leftOf(readWeightsBytes(full.subarray(0, Math.floor(full.length * 0.5)), "vgg16.pth"))
    expect(e).toBeInstanceOf(WeightsFileError)
    const w = e as WeightsFileError
    expect(w.file).toBe("vgg16.pth")
    expect(w.tensor).toBe("classifier.0.weight")
    expect(w.message).toMatch(/^vgg16\.pth: tensor classifier\.0\.weight: its storage 26 holds \d+ of 401408 float32 values: the file is truncated$/)
  })

  it("refuses a zip whose central directory alone is missing", () => {
    const full = torchZip(tensors)
    const e = leftOf(readWeightsBytes(full.subarray(0, full.length - 30), "w.pth")) as WeightsFileError
    expect(e.message).toBe("w.pth: the zip archive's central directory is missing: the file is truncated")
  })

  it("refuses a pickle that reaches for os.system, and runs nothing", () => {
    const e = leftOf(readWeightsBytes(torchZip(tensors, osSystemPickle()), "evil.pth")) as WeightsFileError
    expect(e.message).toBe("evil.pth: the pickle asks for the Python global posix.system, which rstn refuses to load: it could run code, so the file is not loaded")
    expect(e.hint).toMatch(/state dicts of tensors only/)
  })

  it("refuses a storage type it does not know", () => {
    const e = leftOf(readWeightsBytes(torchZip(tensors, stateDictPickle(tensors, "QInt8Storage")), "q.pth")) as WeightsFileError
    expect(e.message).toBe("q.pth: the pickle asks for the Python global torch.QInt8Storage, which rstn refuses to load: it could run code, so the file is not loaded")
  })

  it("names the tensor whose safetensors data runs past the end", () => {
    const bytes = safetensorsFile(tensors)
    const e = leftOf(readWeightsBytes(bytes.subarray(0, bytes.length - 4), "w.safetensors")) as WeightsFileError
    expect(e.tensor).toBe("a.bias")
    expect(e.message).toMatch(/^w\.safetensors: tensor a\.bias: its data ends at byte 32 of a data section of 28 bytes: the file is truncated$/)
  })
})

describe("the torchvision-vgg16 map", () => {
  it("lays a conv weight out as HWIO and a Linear as a 7x7 kernel read in (C, H, W) order", () => {
    const w = oihwToHwio({ name: "w", dtype: "float32", shape: [2, 3, 1, 2], data: ramp(12) }) as { shape: number[]; data: Float32Array }
    expect(w.shape).toEqual([1, 2, 3, 2])
    // out[y=0][x=1][i=2][o=1] = in[o=1][i=2][y=0][x=1]
    expect(w.data[((0 * 2 + 1) * 3 + 2) * 2 + 1]).toBe(ramp(12)[((1 * 3 + 2) * 1 + 0) * 2 + 1])
    const l = linearToConv(7)({ name: "l", dtype: "float32", shape: [3, 2 * 49], data: ramp(3 * 98) }) as { shape: number[]; data: Float32Array }
    expect(l.shape).toEqual([7, 7, 2, 3])
    // kernel[y=4][x=6][c=1][o=2] = W[o=2][c*49 + y*7 + x]
    expect(l.data[((4 * 7 + 6) * 2 + 1) * 3 + 2]).toBe(ramp(3 * 98)[2 * 98 + 49 + 4 * 7 + 6])
  })

  it("maps every tensor, drops the ImageNet classifier, and strips DataParallel's module. prefix", () => {
    const parallel = smallVgg16().map((t) => ({ ...t, name: `module.${t.name}`, dtype: "float32" }))
    const m = Either.getOrThrow(applyMap("torchvision-vgg16", parallel, { file: "v.pth" }))
    expect(m.tensors).toHaveLength(30)
    expect(m.tensors[0]).toMatchObject({ name: "fcn8s/conv1_1/kernel", source: "module.features.0.weight", shape: [3, 3, 3, 4] })
    expect(m.tensors.find((t) => t.name === "fcn8s/fc6/kernel")!.shape).toEqual([7, 7, 32, 256])
    expect(m.dropped).toEqual(["module.classifier.6.weight", "module.classifier.6.bias"])
  })

  it("names a missing tensor unless `skip` lists it", () => {
    const partial = torchZip(smallVgg16().filter((t) => !t.name.startsWith("features.28.")))
    const e = leftOf(readMappedWeights(partial, "v.pth", { map: "torchvision-vgg16" })) as WeightsFileError
    expect(e.tensor).toBe("features.28.weight")
    expect(e.message).toBe("v.pth: tensor features.28.weight: missing from the file, which the torchvision-vgg16 map needs (and features.28.bias)")
    const skipped = Either.getOrThrow(readMappedWeights(partial, "v.pth", { map: "torchvision-vgg16", skip: ["features.28."] }))
    expect(skipped.tensors.map((t) => t.name)).not.toContain("fcn8s/conv5_3/kernel")
  })

  it("names a tensor the map does not know", () => {
    const extra = torchZip([...smallVgg16(), { name: "features.1.running_mean", shape: [4], data: ramp(4) }])
    const e = leftOf(readMappedWeights(extra, "v.pth", { map: "torchvision-vgg16" })) as WeightsFileError
    expect(e.message).toBe("v.pth: tensor features.1.running_mean: not part of the torchvision-vgg16 map")
  })

  it("reports a shape mismatch with the model by the file's tensor name", () => {
    const { trunk } = createVggTrunk("coarse", { ...referenceFcn8s, width: 1 / 16 }, 1)
    const params = trunk.flat().flatMap(convParams)
    try {
      const wrong = smallVgg16().map((t) => (t.name === "features.2.weight" ? { ...t, shape: [4, 4, 1, 9] } : t))
      const m = Either.getOrThrow(readMappedWeights(torchZip(wrong), "v.pth", { map: "torchvision-vgg16", skip: ["classifier."] }))
      const e = leftOf(loadPretrained(params, m.tensors, { file: "v.pth", mappings: [["fcn8s/", "coarse/"]] }))
      expect(e.message).toBe(
        "v.pth: checkpoint does not fit this architecture: shape differs for fcn8s/conv1_2/kernel (file: features.2.weight) -> coarse/conv1_2/kernel (file [1,9,4,4], model [3,3,4,4])"
      )
      const ok = Either.getOrThrow(
        readMappedWeights(torchZip(smallVgg16()), "v.pth", { map: "torchvision-vgg16", skip: ["classifier."] })
      )
      const before = tf.memory().numTensors
      const report = Either.getOrThrow(loadPretrained(params, ok.tensors, { file: "v.pth", mappings: [["fcn8s/", "coarse/"]] }))
      expect(report.loaded).toHaveLength(26)
      expect(tf.memory().numTensors).toBe(before)
    } finally {
      disposeParams(params)
    }
  })
})

/**
 * The state dict of the release's PyTorch port (OrganSegRSTN_PyTorch `model.py`): an RSTN module
 * with `coarse_model` and `fine_model` (FCN8s, Caffe's layer names, 3 classes, transposed-conv
 * upsampling without bias) and `saliency1`/`saliency2`; here at 1/16 of the channels.
 */
const portRstn = (): FixtureTensor[] => {
  const out: FixtureTensor[] = []
  const conv = (name: string, o: number, i: number, k: number) => {
    out.push({ name: `${name}.weight`, shape: [o, i, k, k], data: ramp(o * i * k * k, 0.1) })
    out.push({ name: `${name}.bias`, shape: [o], data: ramp(o, 0.01) })
  }
  for (const net of ["coarse_model", "fine_model"]) {
    let cin = 3
    ;[[4, 2], [8, 2], [16, 3], [32, 3], [32, 3]].forEach(([c, n], b) => {
      for (let i = 0; i < n!; i++) {
        conv(`${net}.conv${b + 1}_${i + 1}`, c!, cin, 3)
        cin = c!
      }
    })
    conv(`${net}.fc6`, 256, 32, 7)
    conv(`${net}.fc7`, 256, 256, 1)
    conv(`${net}.score_fr`, 3, 256, 1)
    conv(`${net}.score_pool3`, 3, 16, 1)
    conv(`${net}.score_pool4`, 3, 32, 1)
    for (const [u, k] of [["upscore2", 4], ["upscore8", 16], ["upscore_pool4", 4]] as const) {
      out.push({ name: `${net}.${u}.weight`, shape: [3, 3, k, k], data: ramp(9 * k * k) })
    }
  }
  conv("saliency1", 3, 3, 3)
  conv("saliency2", 3, 3, 5)
  return out
}

describe("the organseg-rstn map", () => {
  it("initialises every parameter of an RSTN of the same shape, transposed convolutions as [h, w, out, in]", () => {
    const small = { ...referenceFcn8s, width: 1 / 16, learnUpsampling: true }
    const model = createRstn({ coarse: small, fine: small, saliency: releaseSaliency }, 1)
    try {
      const m = Either.getOrThrow(readMappedWeights(torchZip(portRstn()), "rstn.pth", { map: "organseg-rstn" }))
      const report = Either.getOrThrow(loadPretrained(model.params, m.tensors, { file: "rstn.pth", requireAll: true }))
      expect(report.kept).toEqual([])
      expect(report.loaded).toHaveLength(model.params.length)
      const value = (name: string, index: number) => model.params.find((p) => p.name === name)!.variable.dataSync()[index]
      // saliency2.weight[o=1][i=2][y=3][x=4] -> saliency/conv2/kernel[3][4][2][1]
      expect(value("saliency/conv2/kernel", ((3 * 5 + 4) * 3 + 2) * 3 + 1)).toBe(ramp(225, 0.1)[((1 * 3 + 2) * 5 + 3) * 5 + 4])
      // upscore8.weight[in=0][out=2][y=5][x=9] -> upscore8/kernel[5][9][out=2][in=0]
      expect(value("fine/upscore8/kernel", ((5 * 16 + 9) * 3 + 2) * 3 + 0)).toBe(ramp(9 * 256)[((0 * 3 + 2) * 16 + 5) * 16 + 9])
    } finally {
      model.dispose()
    }
  })

  it("names the missing fine network's layers, and fails on a plain FCN8s state dict", () => {
    const e = leftOf(readMappedWeights(torchZip(portRstn().filter((t) => !t.name.startsWith("fine_model."))), "rstn.pth", { map: "organseg-rstn" }))
    expect(e.message).toMatch(/^rstn\.pth: tensor fine_model\.conv1_1\.weight: missing from the file, which the organseg-rstn map needs \(and fine_model\.conv1_1\.bias, /)
    const fcn = portRstn()
      .filter((t) => t.name.startsWith("coarse_model."))
      .map((t) => ({ ...t, name: t.name.slice("coarse_model.".length) }))
    const asFcn = Either.getOrThrow(readMappedWeights(torchZip(fcn), "fcn8s.pth", { map: "organseg-fcn8s" }))
    expect(asFcn.tensors.map((t) => t.name)).toContain("fcn8s/upscore_pool4/kernel")
    expect(leftOf(readMappedWeights(torchZip(fcn), "fcn8s.pth", { map: "organseg-rstn" })).message).toMatch(/^fcn8s\.pth: tensor coarse_model\.conv1_1\.weight: missing/)
  })
})
