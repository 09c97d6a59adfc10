import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { cpuFcn8s } from "../../../src/ops/nets/fcn8s.ts"
import { restoreWeights } from "../../../src/ops/nets/pretrained.ts"
import { createRstn } from "../../../src/ops/nets/rstn.ts"
import { weightsCheckpoint } from "../../../src/ops/train/trainer.ts"
import { initBackend } from "../../../src/runtime/backend.ts"
import {
  CheckpointError,
  CheckpointMismatchError,
  crc32,
  decodeCheckpoint,
  encodeCheckpoint,
  matchTensors,
  type Checkpoint
} from "../../../src/ops/train/checkpoint.ts"

const sample: Checkpoint = {
  architecture: { kind: "rstn", coarse: { width: 0.125 } },
  iteration: 17,
  tensors: [
    { name: "coarse/conv1_1/kernel", shape: [3, 3, 3, 2], data: Float32Array.from({ length: 54 }, (_, i) => Math.sin(i) * 1e-3) },
    { name: "coarse/conv1_1/bias", shape: [2], data: Float32Array.from([-0, Number.MIN_VALUE]) },
    { name: "optimizer/m/coarse/conv1_1/bias", shape: [2], data: Float32Array.from([1.5, -2.25]) },
    { name: "scalar", shape: [], data: Float32Array.from([7]) }
  ],
  optimizer: { kind: "adam", updates: 17 },
  rng: { crop: [1, 2, 3, 4], sampler: [4294967295, 0, 5, 6], signed: [-1, -2147483648, 7, 8] },
  extra: { phase: "J", sampler: { epoch: 1, position: 2 } }
}

const decode = (bytes: Uint8Array) => decodeCheckpoint(bytes, "run/ckpt.bin")
const failure = (bytes: Uint8Array): CheckpointError => {
  const r = decode(bytes)
  if (Either.isRight(r)) throw new Error("expected a failure")
  return r.left
}

describe("checkpoint codec", () => {
  it("round-trips every value bit for bit", () => {
    const bytes = encodeCheckpoint(sample)
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe("RSTNCKPT")
    const back = Either.getOrThrow(decode(bytes))
    expect(back.iteration).toBe(17)
    expect(back.architecture).toEqual(sample.architecture)
    expect(back.optimizer).toEqual(sample.optimizer)
    expect(back.rng).toEqual({ ...sample.rng, signed: [4294967295, 2147483648, 7, 8] })
    expect(back.extra).toEqual(sample.extra)
    expect(back.tensors.map((t) => [t.name, t.shape])).toEqual(sample.tensors.map((t) => [t.name, t.shape]))
    back.tensors.forEach((t, i) => {
      const a = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
      const b = new Uint8Array(sample.tensors[i]!.data.buffer)
      expect(Array.from(a)).toEqual(Array.from(b))
    })
  })

  it("aligns the data section to 4 bytes and records its crc32", () => {
    const bytes = encodeCheckpoint(sample)
    const m = new DataView(bytes.buffer).getUint32(8, true)
    const manifest = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + m)))
    const start = Math.ceil((12 + m) / 4) * 4
    expect(manifest.format).toBe("rstn-checkpoint")
    expect(manifest.version).toBe(1)
    expect(bytes.length - start).toBe(manifest.dataBytes)
    expect(manifest.crc32).toBe(crc32(bytes.subarray(start)))
    expect(manifest.tensors[2]).toEqual({ name: "optimizer/m/coarse/conv1_1/bias", shape: [2], dtype: "float32", offset: 224, length: 2 })
  })

  it("crc32 is zlib's", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926)
  })

  it.each([
    ["another file", () => new TextEncoder().encode("hello, this is not a checkpoint"), /magic/],
    ["a truncated file", () => encodeCheckpoint(sample).subarray(0, 200), /truncated/],
    ["a flipped data bit", () => { const b = encodeCheckpoint(sample); b[b.length - 3]! ^= 4; return b }, /checksum/],
    [
      "a newer format version",
      () => {
        const b = encodeCheckpoint(sample)
        const m = new DataView(b.buffer).getUint32(8, true)
        const text = new TextDecoder().decode(b.subarray(12, 12 + m)).replace('"version":1', '"version":9')
        b.set(new TextEncoder().encode(text), 12)
        return b
      },
      /version 9/
    ]
  ])("rejects %s with a CheckpointError naming the file", (_, make, reason) => {
    const e = failure(make())
    expect(e).toBeInstanceOf(CheckpointError)
    expect(e.file).toBe("run/ckpt.bin")
    expect(e.message).toMatch(reason)
    expect(e.hint.length).toBeGreaterThan(10)
  })
})

describe("architecture check", () => {
  it("lists missing, unexpected and reshaped tensors", () => {
    const r = matchTensors(
      [
        { name: "a", shape: [2] },
        { name: "b", shape: [3, 3] },
        { name: "c", shape: [1] }
      ],
      [
        { name: "a", shape: [2], data: new Float32Array(2) },
        { name: "b", shape: [3, 4], data: new Float32Array(12) },
        { name: "d", shape: [1], data: new Float32Array(1) }
      ],
      "w.bin",
      "use the same width"
    )
    if (Either.isRight(r)) throw new Error("expected a mismatch")
    const e = r.left
    expect(e).toBeInstanceOf(CheckpointMismatchError)
    expect(e.missing).toEqual(["c"])
    expect(e.unexpected).toEqual(["d"])
    expect(e.shapeDiffers).toEqual([{ name: "b", expected: [3, 3], found: [3, 4] }])
    expect(e.message).toBe("w.bin: checkpoint does not fit this architecture: missing c; unexpected d; shape differs for b (file [3,4], model [3,3])")
  })
})

describe("weights-only checkpoints", () => {
  it("carry a model's parameters into another model of the same architecture", async () => {
    await initBackend("cpu")
    const config = { coarse: cpuFcn8s, fine: cpuFcn8s, saliency: null }
    const a = createRstn(config, 1)
    const b = createRstn(config, 2)
    const bytes = encodeCheckpoint(weightsCheckpoint(a, 300, { phase: "J" }))
    const c = Either.getOrThrow(decode(bytes))
    expect(c.iteration).toBe(300)
    expect(c.architecture).toMatchObject({ kind: "rstn", saliency: null, coarse: { arch: "fcn8s", width: 1 / 16, norm: "batch" } })
    expect(c.tensors.some((t) => t.name.startsWith("optimizer/"))).toBe(false)
    expect(Either.isRight(restoreWeights(b.params, c.tensors, "w.bin"))).toBe(true)
    for (const p of a.params) expect(Array.from(b.byName.get(p.name)!.variable.dataSync())).toEqual(Array.from(p.variable.dataSync()))
    a.dispose()
    b.dispose()
  })
})
