/**
 * Deterministic weight initialisers. Each parameter draws from its own stream
 * `Rng.derive(seed, "init", name)`, so adding or reordering layers never changes the initial
 * value of another parameter, and the same seed gives the same network on every backend.
 */
import { Rng } from "../random.ts"

const normals = (rng: Rng, n: number, std: number): Float32Array => {
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) out[i] = rng.normal(0, std)
  return out
}

/** He (Kaiming) normal for ReLU layers: std = sqrt(2 / fanIn). */
export const heNormal = (seed: number, name: string, n: number, fanIn: number): Float32Array =>
  normals(Rng.derive(seed, "init", name), n, Math.sqrt(2 / fanIn))

/** Xavier (Glorot) normal: std = sqrt(2 / (fanIn + fanOut)) (rstn-reference.md "Networks": saliency). */
export const xavierNormal = (seed: number, name: string, n: number, fanIn: number, fanOut: number): Float32Array =>
  normals(Rng.derive(seed, "init", name), n, Math.sqrt(2 / (fanIn + fanOut)))

export const constant = (n: number, value: number): Float32Array => new Float32Array(n).fill(value)

/**
 * A transposed-convolution kernel [k, k, channels, channels] that performs bilinear
 * interpolation channel by channel (zero off the diagonal), as FCN's `surgery.interp` fills the
 * upsampling layers and the RSTN release keeps them (lr_mult 0).
 */
export const bilinearKernel = (size: number, channels: number): Float32Array => {
  const factor = Math.floor((size + 1) / 2)
  const center = size % 2 === 1 ? factor - 1 : factor - 0.5
  const out = new Float32Array(size * size * channels * channels)
  for (let y = 0; y < size; y++) {
    const wy = 1 - Math.abs(y - center) / factor
    for (let x = 0; x < size; x++) {
      const w = wy * (1 - Math.abs(x - center) / factor)
      for (let c = 0; c < channels; c++) out[((y * size + x) * channels + c) * channels + c] = w
    }
  }
  return out
}
