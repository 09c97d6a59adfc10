import pngjs from "pngjs"
import { describe, expect, it } from "vitest"
import type { Shape3 } from "../../src/ops/volume.ts"
import { centreOf, COLOURS, cropAround, maskBox, overlay, planeSlice, planeSpacing, type Rgba, type Slice } from "../../src/report/overlay.ts"
import { encodePng, pngDataUri } from "../../src/report/png.ts"

const shape: Shape3 = [3, 4, 5]
const counting = () => Float32Array.from({ length: 60 }, (_, i) => i)
const at = (x: number, y: number, z: number) => x + 3 * (y + 4 * z)

/** A width x height slice of `fill`, with the box x0..x1-1, y0..y1-1 set to 1. */
const square = (width: number, height: number, x0: number, y0: number, x1: number, y1: number): Slice<Uint8Array> => {
  const data = new Uint8Array(width * height)
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * width + x] = 1
  return { width, height, data }
}

const constant = (width: number, height: number, v: number): Slice<Float32Array> => ({ width, height, data: new Float32Array(width * height).fill(v) })

const pixel = (img: Rgba, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3))

const countColour = (img: Rgba, rgb: readonly number[]) => {
  let n = 0
  for (let i = 0; i < img.width * img.height; i++) if (img.data[i * 4] === rgb[0] && img.data[i * 4 + 1] === rgb[1] && img.data[i * 4 + 2] === rgb[2]) n++
  return n
}

describe("planeSlice", () => {
  it("cuts the axial slice z = k with x to the right and the highest y on top", () => {
    const s = planeSlice(shape, counting(), "axial", 2)
    expect([s.width, s.height]).toEqual([3, 4])
    expect(s.data[0]).toBe(at(0, 3, 2))
    expect(s.data[2]).toBe(at(2, 3, 2))
    expect(s.data[3 * 3]).toBe(at(0, 0, 2))
  })

  it("cuts the coronal slice y = k (x across, z up) and the sagittal x = k (y across, z up)", () => {
    const c = planeSlice(shape, counting(), "coronal", 1)
    expect([c.width, c.height]).toEqual([3, 5])
    expect(c.data[0]).toBe(at(0, 1, 4))
    expect(c.data[4 * 3 + 2]).toBe(at(2, 1, 0))
    const s = planeSlice(shape, counting(), "sagittal", 2)
    expect([s.width, s.height]).toEqual([4, 5])
    expect(s.data[1]).toBe(at(2, 1, 4))
    expect(s.data[4 * 4 + 3]).toBe(at(2, 3, 0))
  })

  it("keeps the array type and refuses slices outside the volume", () => {
    expect(planeSlice(shape, new Uint8Array(60), "axial", 0).data).toBeInstanceOf(Uint8Array)
    expect(() => planeSlice(shape, counting(), "axial", 5)).toThrow(/outside 0..4/)
    expect(() => planeSlice(shape, new Float32Array(59), "axial", 0)).toThrow(/59 values/)
  })

  it("gives each plane's pixel its millimetres", () => {
    expect(planeSpacing([0.7, 0.8, 2.5], "axial")).toEqual([0.7, 0.8])
    expect(planeSpacing([0.7, 0.8, 2.5], "coronal")).toEqual([0.7, 2.5])
    expect(planeSpacing([0.7, 0.8, 2.5], "sagittal")).toEqual([0.8, 2.5])
  })
})

describe("centreOf, maskBox, cropAround", () => {
  it("finds the voxel nearest a mask's centre of mass, and null for an empty mask", () => {
    const m = new Uint8Array(60)
    for (const [x, y, z] of [[0, 1, 1], [2, 1, 1], [0, 3, 3], [2, 3, 3]] as const) m[at(x, y, z)] = 1
    expect(centreOf(shape, m)).toEqual([1, 2, 2])
    expect(centreOf(shape, new Uint8Array(60))).toBeNull()
  })

  it("boxes every nonzero pixel of several slices and grows the box inside the slice", () => {
    const box = maskBox([square(20, 10, 2, 3, 5, 4), square(20, 10, 4, 1, 9, 2)])
    expect(box).toEqual({ x0: 2, y0: 1, x1: 9, y1: 4 })
    expect(maskBox([square(20, 10, 0, 0, 0, 0)])).toBeNull()
    // grown by max(8, 0.75 * 7 = 5) = 8 on each side, clipped to the slice
    expect(cropAround(box, 20, 10)).toEqual({ x0: 0, y0: 0, x1: 17, y1: 10 })
    expect(cropAround({ x0: 40, y0: 40, x1: 60, y1: 50 }, 100, 100)).toEqual({ x0: 25, y0: 25, x1: 75, y1: 65 })
    expect(cropAround(null, 20, 10)).toEqual({ x0: 0, y0: 0, x1: 20, y1: 10 })
  })
})

describe("overlay", () => {
  it("draws the CT in grey and, where both masks agree, one yellow contour", () => {
    const mask = square(10, 10, 3, 3, 7, 7)
    const img = overlay({ ct: constant(10, 10, 0.5), truth: mask, predicted: mask, spacing: [1, 1], size: 10 })
    expect([img.width, img.height]).toEqual([10, 10])
    expect(pixel(img, 0, 0)).toEqual([128, 128, 128])
    // the 4x4 square's boundary: 12 pixels; its 2x2 inside stays grey
    expect(countColour(img, COLOURS.both)).toBe(12)
    expect(pixel(img, 3, 3)).toEqual([...COLOURS.both])
    expect(pixel(img, 4, 4)).toEqual([128, 128, 128])
    expect(countColour(img, COLOURS.truth) + countColour(img, COLOURS.predicted)).toBe(0)
  })

  it("draws the ground truth green and the prediction red where they differ, and clips the CT to [0, 1]", () => {
    const ct: Slice<Float32Array> = { width: 10, height: 10, data: Float32Array.from({ length: 100 }, (_, i) => (i < 50 ? -1 : 2)) }
    const img = overlay({ ct, truth: square(10, 10, 1, 1, 4, 4), predicted: square(10, 10, 6, 6, 9, 9), spacing: [1, 1], size: 10 })
    expect(countColour(img, COLOURS.truth)).toBe(8)
    expect(countColour(img, COLOURS.predicted)).toBe(8)
    expect(pixel(img, 2, 2)).toEqual([0, 0, 0])
    expect(pixel(img, 7, 7)).toEqual([255, 255, 255])
  })

  it("resamples to the pixel spacing and the requested size, and shows only the crop", () => {
    const mask = square(10, 10, 4, 4, 6, 6)
    const img = overlay({ ct: constant(10, 10, 0), truth: null, predicted: mask, spacing: [1, 2], size: 100 })
    expect([img.width, img.height]).toEqual([50, 100])
    // contours stay one output pixel wide: the 2x2-voxel square becomes 10 x 20 pixels
    expect(countColour(img, COLOURS.predicted)).toBe(2 * 10 + 2 * 20 - 4)
    const crop = overlay({ ct: constant(10, 10, 0), truth: null, predicted: mask, spacing: [1, 1], size: 40, crop: { x0: 3, y0: 3, x1: 7, y1: 7 } })
    expect([crop.width, crop.height]).toEqual([40, 40])
    expect(pixel(crop, 0, 0)).toEqual([0, 0, 0])
    expect(pixel(crop, 10, 10)).toEqual([...COLOURS.predicted])
  })

  it("refuses slices of other sizes and crops outside the slice", () => {
    const ct = constant(10, 10, 0)
    expect(() => overlay({ ct, truth: square(9, 10, 0, 0, 1, 1), predicted: square(10, 10, 0, 0, 1, 1), spacing: [1, 1], size: 10 })).toThrow(/ground truth slice is 9x10/)
    expect(() => overlay({ ct, truth: null, predicted: square(10, 10, 0, 0, 1, 1), spacing: [1, 1], size: 10, crop: { x0: 5, y0: 0, x1: 11, y1: 4 } })).toThrow(/outside the 10x10 slice/)
  })
})

describe("encodePng", () => {
  it("writes an RGB PNG that decodes to the same pixels, and a data: URI of it", () => {
    const img = overlay({ ct: constant(6, 4, 0.25), truth: square(6, 4, 1, 1, 3, 3), predicted: square(6, 4, 2, 1, 5, 3), spacing: [1, 1], size: 6 })
    const png = encodePng(img)
    const back = pngjs.PNG.sync.read(png)
    expect([back.width, back.height]).toEqual([6, 4])
    expect(png[25]).toBe(2) // colour type in IHDR: RGB
    for (let i = 0; i < 24; i++) expect(Array.from(back.data.subarray(i * 4, i * 4 + 3))).toEqual(Array.from(img.data.subarray(i * 4, i * 4 + 3)))
    expect(pngDataUri(img)).toBe(`data:image/png;base64,${png.toString("base64")}`)
  })
})
