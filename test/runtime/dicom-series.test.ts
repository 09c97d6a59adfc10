import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { type DicomError, encodeDicomSeries, formatDs } from "../../src/ops/dicom/index.ts"
import { geometryFromAffine } from "../../src/ops/nifti/index.ts"
import type { Volume } from "../../src/ops/volume.ts"
import { readDicomSeries, writeDicomSeries } from "../../src/runtime/dicom-series.ts"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-dicom-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

/** The typed failure (a defect or a success rejects the promise). */
const failure = (effect: Effect.Effect<unknown, DicomError>): Promise<DicomError> => Effect.runPromise(Effect.flip(effect))

// LPS position of slice k: (-10, -20, 30 + 2k): short, exact decimal strings to patch.
const affine = [-0.5, 0, 0, 10, 0, -0.75, 0, 20, 0, 0, 2, 30, 0, 0, 0, 1]
const shape = [4, 3, 5] as const
const volume: Volume<Int16Array> = {
  shape,
  geometry: geometryFromAffine(affine),
  data: new Int16Array(60).map((_, i) => ((i * 37) % 200) - 1000 + (i % 7) * 3)
}

let counter = 0
/** Writes `volume` as a series in a fresh directory; `edit` may change the files first. */
const series = async (edit?: (files: Map<string, Uint8Array>) => void, v: Volume = volume, key = "test"): Promise<string> => {
  const dir = path.join(tmp, `s${++counter}`)
  const files = new Map(encodeDicomSeries(v, { key }).map((f) => [f.name, f.bytes]))
  edit?.(files)
  await Effect.runPromise(writeDicomSeries(dir, [...files].map(([name, bytes]) => ({ name, bytes }))))
  return dir
}

/** Replaces one ASCII string by another of the same length in a file's bytes. */
const patch = (bytes: Uint8Array, from: string, to: string): Uint8Array => {
  expect(to.length).toBe(from.length)
  const buf = Buffer.from(bytes)
  const at = buf.indexOf(from, 0, "latin1")
  expect(at).toBeGreaterThan(0)
  buf.write(to, at, "latin1")
  return new Uint8Array(buf)
}

describe("DICOM series: write and read back", () => {
  it("gives back the volume, voxel for voxel, and its affine", async () => {
    const dir = await series()
    const read = await Effect.runPromise(readDicomSeries(dir))
    expect(read.volume.shape).toEqual([4, 3, 5])
    expect(read.volume.data).toBeInstanceOf(Int16Array)
    expect(Array.from(read.volume.data)).toEqual(Array.from(volume.data))
    expect(read.volume.geometry.affine).toEqual(affine)
    expect(read.volume.geometry.spacing).toEqual([0.5, 0.75, 2])
    expect(read.info).toMatchObject({ files: 5, slope: 1, intercept: -1024, stored: "int16", transferSyntax: "1.2.840.10008.1.2.1" })
  })

  it("sorts slices by position along the normal, not by file name or instance number", async () => {
    const dir = await series((files) => {
      // Reverse the names: 1-001.dcm now holds the last slice.
      const entries = [...files.values()]
      files.clear()
      entries.reverse().forEach((b, i) => files.set(`1-${String(i + 1).padStart(3, "0")}.dcm`, b))
    })
    const read = await Effect.runPromise(readDicomSeries(dir))
    expect(Array.from(read.volume.data)).toEqual(Array.from(volume.data))
    expect(path.basename(read.info.sliceFiles[0]!)).toBe("1-005.dcm")
  })

  it("applies each slice's rescale, giving float32 when the values are not integers", async () => {
    const scaled = encodeDicomSeries(volume, { key: "scaled", slope: 0.5, intercept: -1000.25 })
    const dir = path.join(tmp, "scaled")
    await Effect.runPromise(writeDicomSeries(dir, scaled))
    const read = await Effect.runPromise(readDicomSeries(dir))
    expect(read.volume.data).toBeInstanceOf(Float32Array)
    for (let i = 0; i < volume.data.length; i++) {
      const stored = Math.round((volume.data[i]! + 1000.25) / 0.5)
      expect(read.volume.data[i]).toBeCloseTo(stored * 0.5 - 1000.25, 4)
    }
  })

  it("skips files that are not DICOM unless they are named .dcm", async () => {
    const dir = await series()
    fs.writeFileSync(path.join(dir, "README.txt"), "notes")
    expect((await Effect.runPromise(readDicomSeries(dir))).info.files).toBe(5)
    fs.writeFileSync(path.join(dir, "broken.dcm"), "not dicom")
    const e = await failure(readDicomSeries(dir))
    expect(e).toMatchObject({ dir, file: "broken.dcm" })
    expect(e.reason).toContain("not a DICOM Part 10 file")
  })

  it("writes decimal strings of at most 16 characters", () => {
    for (const x of [-179.22955489128, 1 / 3, 123456789.123456, -1e-9, 0, 5.000000000000084]) {
      const s = formatDs(x)
      expect(s.length).toBeLessThanOrEqual(16)
      expect(Math.abs(Number(s) - x)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(x)) + 1e-15)
    }
  })
})

describe("DICOM series: bad series name the directory and the fault", () => {
  it("a missing slice", async () => {
    const dir = await series((files) => files.delete("1-003.dcm"))
    const e = await failure(readDicomSeries(dir))
    expect(e.dir).toBe(dir)
    expect(e.reason).toMatch(/a slice is missing between 1-002\.dcm \(at 32 mm\) and 1-004\.dcm \(at 36 mm\): a gap of 4 mm in a series that steps 2 mm/)
    expect(e.message).toContain(`cannot read DICOM series ${dir}`)
  })

  it("uneven spacing", async () => {
    const dir = await series((files) => files.set("1-003.dcm", patch(files.get("1-003.dcm")!, "-20\\34", "-20\\35")))
    const e = await failure(readDicomSeries(dir))
    expect(e.reason).toMatch(/uneven slice spacing: 1-002\.dcm \(at 32 mm\) and 1-003\.dcm \(at 35 mm\) are 3 mm apart, the series' step is 2 mm/)
    expect(e.hint).toContain("resample")
  })

  it("two slices at one position", async () => {
    const dir = await series((files) => files.set("1-003.dcm", patch(files.get("1-003.dcm")!, "-20\\34", "-20\\32")))
    expect((await failure(readDicomSeries(dir))).reason).toContain("two slices lie at the same position")
  })

  it("mixed series", async () => {
    const other = encodeDicomSeries(volume, { key: "another series" })
    const dir = await series((files) => {
      for (const f of other.slice(0, 2)) files.set(`other-${f.name}`, f.bytes)
    })
    const e = await failure(readDicomSeries(dir))
    expect(e.reason).toMatch(/^mixes 2 series: 2\.25\.\d+ \(5 files, e\.g\. 1-001\.dcm\); 2\.25\.\d+ \(2 files, e\.g\. other-1-001\.dcm\)$/)
    expect(e.hint).toContain("own directory")
  })

  it("a compressed transfer syntax, named with how to decompress it", async () => {
    // RLE Lossless's UID has the length of explicit VR little endian's (both padded to 20 bytes).
    const dir = await series((files) => files.set("1-002.dcm", patch(files.get("1-002.dcm")!, "1.2.840.10008.1.2.1\0", "1.2.840.10008.1.2.5\0")))
    const e = await failure(readDicomSeries(dir))
    expect(e).toMatchObject({ dir, file: "1-002.dcm" })
    expect(e.reason).toBe("its pixel data is compressed with RLE Lossless (1.2.840.10008.1.2.5), which rstn does not decode")
    expect(e.hint).toContain("dcmdrle")
  })

  it("no pixel data", async () => {
    const dir = await series((files) => {
      const bytes = Buffer.from(files.get("1-004.dcm")!)
      // Cut the file before the Pixel Data element (7FE0,0010) OW.
      const at = bytes.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57]))
      expect(at).toBeGreaterThan(0)
      files.set("1-004.dcm", new Uint8Array(bytes.subarray(0, at)))
    })
    const e = await failure(readDicomSeries(dir))
    expect(e).toMatchObject({ dir, file: "1-004.dcm" })
    expect(e.reason).toContain("has no pixel data")
  })

  it("slices of another size", async () => {
    const small: Volume = { shape: [4, 3, 1], geometry: volume.geometry, data: new Int16Array(12) }
    const [odd] = encodeDicomSeries({ ...small, shape: [3, 4, 1] }, { key: "test" })
    const dir = await series((files) => files.set("1-005.dcm", odd!.bytes))
    // The same series UID (same key), another size: not one volume.
    const e = await failure(readDicomSeries(dir))
    expect(e.reason).toContain("its slices are not one volume")
  })

  it("an empty or missing directory", async () => {
    const empty = path.join(tmp, "empty")
    fs.mkdirSync(empty)
    expect((await failure(readDicomSeries(empty))).reason).toBe("is empty")
    expect((await failure(readDicomSeries(path.join(tmp, "nowhere")))).reason).toBe("no such directory")
  })
})
