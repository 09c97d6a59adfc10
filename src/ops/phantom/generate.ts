/**
 * A synthetic abdominal CT case with its target label, deterministic in (seed, case index):
 * the anatomy is drawn, painted slice by slice at voxel centres, corrupted with Gaussian noise
 * and blurred (so the noise is spatially correlated like CT noise, and organ borders get
 * partial-volume values), then rounded to int16 HU.
 */
import { Rng } from "../random.ts"
import type { Volume } from "../volume.ts"
import { drawAnatomy, type Anatomy } from "./anatomy.ts"
import { gaussianBlur, noiseGain } from "./blur.ts"
import { phantomGrid, type PhantomGrid, type PhantomSize } from "./grid.ts"
import { paintSlice } from "./raster.ts"

/** Part of every phantom's identity: bump it when the anatomy or rendering changes. */
export const PHANTOM_VERSION = 1

/** Point spread of the simulated scanner, in voxels (x, y, z). */
const BLUR_SIGMA: readonly [number, number, number] = [0.6, 0.6, 0.5]

/**
 * Largest share of an axial slice the target may cover. A real pancreas covers at most about
 * 1.5% of a 512x512 slice; the margin absorbs the difference between the 0.5 mm estimate and
 * coarse voxel grids.
 */
const MAX_TARGET_FRACTION = 0.013

/** The int16 range CT scanners store (HU -1024 .. 3071). */
const HU_MIN = -1024
const HU_MAX = 3071

export interface PhantomCase {
  /** `case_000`, `case_001`, ... */
  readonly id: string
  readonly image: Volume<Int16Array>
  readonly label: Volume<Uint8Array>
}

export interface PhantomOptions {
  readonly seed: number
  readonly index: number
  readonly size: PhantomSize
  /** Force the slice count (e.g. 466 for a worst-case benchmark). */
  readonly slices?: number
}

export const caseId = (index: number): string => `case_${String(index).padStart(3, "0")}`

/** The anatomy and grid of a case without rendering it (cheap). */
export const phantomLayout = (options: PhantomOptions): { anatomy: Anatomy; grid: PhantomGrid } => {
  if (!Number.isInteger(options.index) || options.index < 0) throw new RangeError(`case index must be a non-negative integer, got ${options.index}`)
  // Separate streams: the anatomy does not depend on the size, so small, medium and full
  // renderings of one case show the same patient.
  const rng = Rng.derive(options.seed, "phantom", PHANTOM_VERSION, options.index, "anatomy")
  // Redraw the rare patient whose target would cover too much of a slice (the stream goes
  // on, so the result stays a function of seed and index).
  let anatomy = drawAnatomy(rng)
  for (let attempt = 1; attempt < 100 && anatomy.target.maxSectionArea > MAX_TARGET_FRACTION * anatomy.fov ** 2; attempt++) {
    anatomy = drawAnatomy(rng)
  }
  const grid = phantomGrid(
    options.size,
    anatomy.fov,
    anatomy.sCenter,
    Rng.derive(options.seed, "phantom", PHANTOM_VERSION, options.index, "grid"),
    options.slices === undefined ? {} : { slices: options.slices }
  )
  return { anatomy, grid }
}

export const generatePhantom = (options: PhantomOptions): PhantomCase => {
  const { anatomy, grid } = phantomLayout(options)
  const [nx, ny, nz] = grid.shape
  const sliceSize = nx * ny
  const hu = new Float32Array(sliceSize * nz)
  const label = new Uint8Array(sliceSize * nz)
  const frame = { nx, ny, spacing: grid.spacing[0], ci: grid.ci, cj: grid.cj }
  for (let k = 0; k < nz; k++) {
    const offset = k * sliceSize
    hu.fill(-1000, offset, offset + sliceSize) // air around the patient
    paintSlice(hu, label, offset, frame, grid.s0 + k * grid.spacing[2], anatomy.layers)
  }

  // White noise before the blur comes out correlated; scale it so its deviation after the
  // blur is the case's noise level.
  const noise = Rng.derive(options.seed, "phantom", PHANTOM_VERSION, options.index, "noise", options.size)
  const std = anatomy.noiseStd / noiseGain(BLUR_SIGMA)
  const n = hu.length
  for (let i = 0; i < n; i += 2) {
    // Box–Muller, both outputs used.
    let u = noise.next()
    while (u === 0) u = noise.next()
    const r = std * Math.sqrt(-2 * Math.log(u))
    const t = 2 * Math.PI * noise.next()
    hu[i] += r * Math.cos(t)
    if (i + 1 < n) hu[i + 1] += r * Math.sin(t)
  }
  gaussianBlur(hu, grid.shape, BLUR_SIGMA)

  const image = new Int16Array(n)
  for (let i = 0; i < n; i++) {
    const v = Math.round(hu[i]!)
    image[i] = v < HU_MIN ? HU_MIN : v > HU_MAX ? HU_MAX : v
  }
  return {
    id: caseId(options.index),
    image: { shape: grid.shape, geometry: grid.geometry, data: image },
    label: { shape: grid.shape, geometry: grid.geometry, data: label }
  }
}
