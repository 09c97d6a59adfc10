/**
 * Separable Gaussian blur of a volume in place, standing in for the scanner's point spread
 * function and the partial-volume effect at organ boundaries. Edges are clamped (the border
 * value repeats), so a uniform volume is left unchanged.
 */
import type { Shape3 } from "../volume.ts"

/** Normalised 1D Gaussian weights, radius ceil(3 sigma); sigma <= 0 gives the identity [1]. */
export const gaussianKernel = (sigma: number): Float64Array => {
  if (!(sigma > 0)) return Float64Array.of(1)
  const radius = Math.max(1, Math.ceil(3 * sigma))
  const w = new Float64Array(2 * radius + 1)
  let sum = 0
  for (let t = -radius; t <= radius; t++) {
    const v = Math.exp(-(t * t) / (2 * sigma * sigma))
    w[t + radius] = v
    sum += v
  }
  for (let i = 0; i < w.length; i++) w[i]! /= sum
  return w
}

/** Along x: each row through a line buffer. */
const blurX = (data: Float32Array, shape: Shape3, w: Float64Array): void => {
  const [nx, ny, nz] = shape
  const r = (w.length - 1) / 2
  const line = new Float32Array(nx)
  for (let row = 0; row < ny * nz; row++) {
    const off = row * nx
    line.set(data.subarray(off, off + nx))
    for (let x = 0; x < nx; x++) {
      let acc = 0
      for (let t = -r; t <= r; t++) {
        let xx = x + t
        if (xx < 0) xx = 0
        else if (xx >= nx) xx = nx - 1
        acc += w[t + r]! * line[xx]!
      }
      data[off + x] = acc
    }
  }
}

/**
 * Along an axis whose lines are `count` contiguous planes of `plane` values (y within each
 * z-slab, or z over the whole volume): planes are combined whole, keeping the originals of
 * the last r planes in a ring since they are overwritten before their last use.
 */
const blurPlanes = (data: Float32Array, start: number, count: number, plane: number, w: Float64Array): void => {
  const r = (w.length - 1) / 2
  const ring = new Float32Array(r * plane)
  const acc = new Float32Array(plane)
  for (let k = 0; k < count; k++) {
    acc.fill(0)
    for (let t = -r; t <= r; t++) {
      let kk = k + t
      if (kk < 0) kk = 0
      else if (kk >= count) kk = count - 1
      const weight = w[t + r]!
      const src = kk < k ? ring.subarray((kk % r) * plane, (kk % r + 1) * plane) : data.subarray(start + kk * plane, start + (kk + 1) * plane)
      for (let i = 0; i < plane; i++) acc[i] += weight * src[i]!
    }
    const here = data.subarray(start + k * plane, start + (k + 1) * plane)
    ring.set(here, (k % r) * plane)
    here.set(acc)
  }
}

/** Blur in place with standard deviations `sigma` (in voxels) along x, y, z. */
export const gaussianBlur = (data: Float32Array, shape: Shape3, sigma: readonly [number, number, number]): void => {
  const [nx, ny, nz] = shape
  if (data.length !== nx * ny * nz) throw new RangeError(`gaussianBlur: ${data.length} values for ${shape.join("x")}`)
  const [wx, wy, wz] = sigma.map(gaussianKernel) as [Float64Array, Float64Array, Float64Array]
  if (wx.length > 1) blurX(data, shape, wx)
  if (wy.length > 1) for (let z = 0; z < nz; z++) blurPlanes(data, z * nx * ny, ny, nx, wy)
  if (wz.length > 1) blurPlanes(data, 0, nz, nx * ny, wz)
}

/** Factor by which the blur scales the standard deviation of white noise: sqrt(Π Σ w²). */
export const noiseGain = (sigma: readonly [number, number, number]): number => {
  let g = 1
  for (const s of sigma) {
    const w = gaussianKernel(s)
    let sq = 0
    for (const v of w) sq += v * v
    g *= sq
  }
  return Math.sqrt(g)
}
