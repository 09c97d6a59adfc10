/** A small volume, mask, score map and label shared by the inference tests. */
import { referenceFcn8s } from "../../../src/ops/nets/fcn8s.ts"
import { createRstn, type Rstn } from "../../../src/ops/nets/rstn.ts"
import { releaseSaliency } from "../../../src/ops/nets/saliency.ts"
import { Rng } from "../../../src/ops/random.ts"
import type { Shape3 } from "../../../src/ops/volume.ts"

export const net = { ...referenceFcn8s, width: 1 / 16, norm: "batch" as const, dropout: 0 }
// Xavier weights in both saliency layers, so g depends on the map from the start
export const saliency = { channels: 3, layers: releaseSaliency.layers.map((l) => ({ ...l, init: { ...l.init, weights: "xavier-normal" as const } })) }

export const shape: Shape3 = [20, 24, 10]
export const at = (x: number, y: number, z: number) => x + shape[0] * (y + shape[1] * z)
const rng = Rng.derive(4, "infer-test")
export const image = Float32Array.from({ length: 20 * 24 * 10 }, () => rng.next())
/** A box-shaped mask over x 6..11, y 8..15 in slices z = 4, 5. */
export const mask = new Uint8Array(image.length)
for (let z = 4; z <= 5; z++) for (let y = 8; y <= 15; y++) for (let x = 6; x <= 11; x++) mask[at(x, y, z)] = 1
export const score = Float32Array.from(mask, (m, i) => (m ? 0.8 : 0.1) + 0.05 * Math.sin(i))
export const label = new Uint8Array(image.length)
for (let y = 2; y <= 5; y++) for (let x = 2; x <= 4; x++) label[at(x, y, 7)] = 1

export const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0)

export const withModel = (s: typeof saliency | null, f: (m: Rstn) => void) => {
  const m = createRstn({ coarse: net, fine: net, saliency: s }, 6)
  try {
    f(m)
  } finally {
    m.dispose()
  }
}
