import { Cause, Effect, Exit, Option } from "effect"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { afterAll, describe, expect, it, vi } from "vitest"
import { geometryFromAffine, type NiftiError } from "../../src/ops/nifti/index.ts"
import type { Volume } from "../../src/ops/volume.ts"
import { readNiftiFile, writeNiftiFile } from "../../src/runtime/nifti-file.ts"
import { buildNifti } from "../ops/nifti/build-nifti.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-nifti-file-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const failure = async <E>(effect: Effect.Effect<unknown, E>): Promise<E> => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const f = Cause.failureOption(exit.cause)
  if (Option.isNone(f)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return f.value
}

const geometry = geometryFromAffine([0.8, 0, 0, -100, 0, -0.8, 0, 120, 0, 0, 2.5, -300, 0, 0, 0, 1], { qformCode: 1, sformCode: 1 })

describe("writeNiftiFile / readNiftiFile", () => {
  for (const name of ["ct.nii.gz", "ct.nii"]) {
    it(`writes and reads back ${name} with its values and geometry`, async () => {
      const file = path.join(dir, name)
      const volume: Volume = { shape: [5, 6, 7], geometry, data: new Int16Array(210).map((_, i) => i * 10 - 1000) }
      await Effect.runPromise(writeNiftiFile(file, volume, "int16", { description: "test CT" }))
      const raw = fs.readFileSync(file)
      expect(raw[0] === 0x1f && raw[1] === 0x8b).toBe(name.endsWith(".gz"))
      const img = await Effect.runPromise(readNiftiFile(file))
      expect(img.header.description).toBe("test CT")
      expect(img.volume.shape).toEqual([5, 6, 7])
      expect(Array.from(img.volume.data)).toEqual(Array.from(volume.data))
      expect(img.volume.geometry.affine).toEqual(geometry.affine.map(Math.fround))
      // No temporary file is left beside the target.
      expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([])
    })
  }

  it("reports a missing file with the path and a hint", async () => {
    const e = (await failure(readNiftiFile(path.join(dir, "nope.nii.gz")))) as NiftiError
    expect(e._tag).toBe("NiftiError")
    expect(e.field).toBe("file")
    expect(e.message).toBe(`cannot read ${path.join(dir, "nope.nii.gz")}: no such file`)
    expect(e.hint).toContain("check the path")
  })

  it("reports a directory", async () => {
    const e = (await failure(readNiftiFile(dir))) as NiftiError
    expect(e.field).toBe("file")
    expect(e.reason).toContain("directory")
  })

  it("refuses a huge file by its header before reading the rest", async () => {
    // A sparse 3 GiB file whose header claims 2000^3 voxels; count the bytes asked of the file.
    const file = path.join(dir, "huge.nii")
    fs.writeFileSync(file, buildNifti({ dims: [2000, 2000, 2000], values: [] }))
    fs.truncateSync(file, 3 * 2 ** 30)
    const probe = await fsp.open(file, "r")
    const read = vi.spyOn(Object.getPrototypeOf(probe) as { read: (...a: unknown[]) => Promise<unknown> }, "read")
    await probe.close()
    try {
      const e = (await failure(readNiftiFile(file))) as NiftiError
      expect(e.field).toBe("dim")
      const asked = read.mock.calls.reduce((sum, call) => sum + Number(call[2]), 0)
      expect(read).toHaveBeenCalled()
      expect(asked).toBeLessThanOrEqual(64 * 1024)
    } finally {
      read.mockRestore()
      fs.rmSync(file)
    }
  })

  it("reports damaged .nii.gz files with the field at fault", async () => {
    const values = Array.from({ length: 32768 }, (_, i) => (i * 7919) % 30000)
    const gz = buildNifti({ dims: [32, 32, 32], gzip: true, values })
    const cases: Array<[string, Uint8Array, string, string]> = [
      ["truncated.nii.gz", gz.subarray(0, Math.floor(gz.length * 0.6)), "data", "decompressed file ends at byte"],
      ["checksum.nii.gz", gz.map((b, i) => (i === gz.length - 6 ? b ^ 0xff : b)), "gzip", "corrupt"],
      [
        "oversized.nii.gz",
        new Uint8Array(zlib.gzipSync(Buffer.concat([buildNifti({ dims: [2, 2, 2] }), Buffer.alloc(8 << 20)]))),
        "data",
        "inflates to more than the 368 bytes"
      ]
    ]
    for (const [name, bytes, field, reason] of cases) {
      const file = path.join(dir, name)
      fs.writeFileSync(file, bytes)
      const e = (await failure(readNiftiFile(file))) as NiftiError
      expect({ name, field: e.field }).toEqual({ name, field })
      expect(e.reason).toContain(reason)
    }
    // The intact file reads, through the same asynchronous inflate.
    fs.writeFileSync(path.join(dir, "intact.nii.gz"), gz)
    const img = await Effect.runPromise(readNiftiFile(path.join(dir, "intact.nii.gz")))
    expect(Array.from(img.volume.data.subarray(0, 3))).toEqual(values.slice(0, 3))
  })

  it("passes the voxel limit through", async () => {
    const file = path.join(dir, "small.nii")
    fs.writeFileSync(file, buildNifti({ dims: [4, 4, 4] }))
    expect(((await failure(readNiftiFile(file, { maxVoxels: 10 }))) as NiftiError).field).toBe("dim")
    expect((await Effect.runPromise(readNiftiFile(file, { maxVoxels: 64 }))).volume.shape).toEqual([4, 4, 4])
  })

  it("reports a write into a path that cannot exist as a WriteError", async () => {
    const blocker = path.join(dir, "a-file")
    fs.writeFileSync(blocker, "x")
    const volume: Volume = { shape: [1, 1, 1], geometry, data: new Uint8Array(1) }
    const e = await failure(writeNiftiFile(path.join(blocker, "mask.nii.gz"), volume, "uint8"))
    expect((e as { _tag: string })._tag).toBe("WriteError")
  })
})
