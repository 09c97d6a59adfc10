import { createHash } from "node:crypto"
import { Effect, Either } from "effect"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { loadPipeline } from "../../../src/dsl/load.ts"
import { encodeNifti1, geometryFromAffine } from "../../../src/ops/nifti/index.ts"
import { CHECKPOINT_MAGIC } from "../../../src/ops/train/checkpoint.ts"
import { decodeModelFile, describeModel, encodeModelFile, isModelFile, MODEL_MAGIC } from "../../../src/runtime/predict/model-file.ts"

const { pipeline } = await Effect.runPromise(loadPipeline(path.resolve(import.meta.dirname, "../../../pipelines/demo.yaml"), []))
const header = {
  format: "rstn-model" as const,
  version: 1 as const,
  rstn: "0.1.0",
  engine: 2,
  pipeline,
  folds: [0, 1],
  views: pipeline.views,
  window: [pipeline.dataset.window[0], pipeline.dataset.window[1]] as const,
  orientation: { axes: "LPS", images: 4 }
}
const weights = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)
const entries = [
  { entry: { fold: 0, view: "Z" as const, phase: "J", stage: "coarse" as const }, bytes: weights(37, 1) },
  { entry: { fold: 0, view: "Z" as const, phase: "J", stage: "fine" as const }, bytes: weights(50, 2) }
]
const file = encodeModelFile(header, entries)
const decode = (bytes: Uint8Array) => decodeModelFile(bytes, "m.rstn")
const reason = (bytes: Uint8Array) => Either.match(decode(bytes), { onLeft: (e) => e.reason, onRight: () => "decoded" })

describe("model files", () => {
  it("round-trip the header and each entry's bytes, the weights aligned to 8 bytes", () => {
    expect(isModelFile(file)).toBe(true)
    const m = Either.getOrThrow(decode(file))
    expect(m.header.folds).toEqual([0, 1])
    expect(m.header.pipeline).toEqual(pipeline)
    expect(m.header.weights.map((e) => [e.offset, e.bytes])).toEqual([[0, 37], [37, 50]])
    expect(m.header.weights[1]!.sha256).toBe(createHash("sha256").update(entries[1]!.bytes).digest("hex"))
    expect(Array.from(m.data.subarray(37, 87))).toEqual(Array.from(entries[1]!.bytes))
    expect((file.length - m.header.dataBytes) % 8).toBe(0)
    expect(describeModel("m.rstn", file.length, m)).toMatchObject({ kind: "rstn-model", folds: [0, 1], checksums: "ok", pipeline: pipeline.name })
  })

  it("say which part of a damaged file fails", () => {
    expect(reason(file.subarray(0, file.length - 3))).toBe("should hold 87 bytes of weights but holds 84: truncated")
    expect(reason(file.subarray(0, 30))).toBe("is truncated: 30 bytes, less than the 44-byte prefix")
    const flipped = (at: number) => {
      const b = file.slice()
      b[at]! ^= 1
      return b
    }
    expect(reason(flipped(60))).toBe("its header does not match its SHA-256 checksum")
    expect(reason(flipped(file.length - 1))).toBe("the weights of fold 0 view Z phase J (fine) do not match their SHA-256 checksum")
    expect(reason(flipped(file.length - 60))).toBe("the weights of fold 0 view Z phase J (coarse) do not match their SHA-256 checksum")
    const longer = new Uint8Array(file.length + 8)
    longer.set(file)
    expect(reason(longer)).toBe("should hold 87 bytes of weights but holds 95: extra bytes at the end")
  })

  it("refuse another version, and another window than the pipeline's", () => {
    // A later rstn's file: the same layout, its header saying version 2 (with a valid checksum).
    const h = new DataView(file.buffer, file.byteOffset).getUint32(8, true)
    const json = new TextDecoder().decode(file.subarray(44, 44 + h)).replace('"version":1', '"version":2')
    const v2 = file.slice()
    v2.set(new TextEncoder().encode(json), 44)
    v2.set(createHash("sha256").update(v2.subarray(44, 44 + h)).digest(), 12)
    expect(reason(v2)).toBe("is a model file of format version 2; this rstn reads version 1")
    expect(reason(encodeModelFile({ ...header, window: [0, 1] }, entries))).toMatch(/its window \[0, 1\] differs from its pipeline's dataset.window/)
  })

  it("name a file of another kind as what it is", () => {
    const nifti = encodeNifti1({ shape: [2, 2, 2], geometry: geometryFromAffine([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]), data: new Int16Array(8) }, "int16", { gzip: false })
    expect(reason(nifti)).toBe("is a NIfTI-1 image, not an rstn model file")
    expect(reason(encodeNifti1({ shape: [2, 2, 2], geometry: geometryFromAffine([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]), data: new Int16Array(8) }, "int16"))).toBe(
      "is a gzip file (a .nii.gz image?), not an rstn model file"
    )
    expect(reason(new TextEncoder().encode(`${CHECKPOINT_MAGIC}........`))).toBe("is an rstn training checkpoint (one network's weights), not a model file")
    expect(reason(new TextEncoder().encode("hello"))).toBe(`is not an rstn model file (it does not start with the bytes "${MODEL_MAGIC}")`)
  })
})
