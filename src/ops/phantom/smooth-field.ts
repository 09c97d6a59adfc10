/**
 * A smooth random scalar field in millimetres: a sum of plane waves with random directions,
 * wavelengths and phases. It is defined in patient space, not voxels, so the same case looks
 * the same at every phantom size; used for organ texture, bowel contents and lobulation.
 */
import type { Rng } from "../random.ts"

export interface SmoothField {
  /** Roughly zero-mean with unit standard deviation. */
  readonly at: (a: number, p: number, s: number) => number
}

export const smoothField = (rng: Rng, waves: number, minWavelength: number, maxWavelength: number): SmoothField => {
  const kx = new Float64Array(waves)
  const ky = new Float64Array(waves)
  const kz = new Float64Array(waves)
  const phase = new Float64Array(waves)
  for (let i = 0; i < waves; i++) {
    // A uniformly random direction (normalised Gaussian vector).
    let x = rng.normal()
    let y = rng.normal()
    let z = rng.normal()
    const norm = Math.hypot(x, y, z) || 1
    const k = (2 * Math.PI) / rng.uniform(minWavelength, maxWavelength)
    x = (x / norm) * k
    y = (y / norm) * k
    z = (z / norm) * k
    kx[i] = x
    ky[i] = y
    kz[i] = z
    phase[i] = rng.uniform(0, 2 * Math.PI)
  }
  // Each cosine with a uniform phase has variance 1/2.
  const scale = Math.sqrt(2 / waves)
  return {
    at: (a, p, s) => {
      let v = 0
      for (let i = 0; i < waves; i++) v += Math.cos(kx[i]! * a + ky[i]! * p + kz[i]! * s + phase[i]!)
      return v * scale
    }
  }
}
