/**
 * 3D connected components of a binary mask under 6-connectivity (voxels sharing a face; edge
 * or corner contact does not connect), used to keep the largest component of each round's mask
 * (rstn-reference.md "Testing" step 2).
 *
 * The mask is scanned once into runs (maximal stretches of foreground along x); runs of
 * neighbouring rows (y-1 in the same slice, and the same y in slice z-1) that share an x are
 * united with union-find (union by size, path halving). Time is linear in the voxel count and
 * memory is proportional to the number of runs, not voxels.
 */
import type { Shape3 } from "./volume.ts"

interface Runs {
  readonly count: number
  /** First x of each run. */
  readonly start: Int32Array
  /** One past the last x of each run. */
  readonly end: Int32Array
  /** Runs of row r (= y + ny*z) are [rowStart[r], rowStart[r+1]). */
  readonly rowStart: Uint32Array
}

const checkShape = (mask: Uint8Array, shape: Shape3, what: string): void => {
  if (mask.length !== shape[0] * shape[1] * shape[2]) {
    throw new RangeError(`${what}: ${mask.length} voxels for a ${shape.join("x")} volume`)
  }
}

const findRuns = (mask: Uint8Array, shape: Shape3): Runs => {
  const [nx, ny, nz] = shape
  const rows = ny * nz
  const rowStart = new Uint32Array(rows + 1)
  let capacity = 1024
  let start = new Int32Array(capacity)
  let end = new Int32Array(capacity)
  let count = 0
  for (let r = 0; r < rows; r++) {
    rowStart[r] = count
    const offset = r * nx
    let x = 0
    while (x < nx) {
      if (mask[offset + x] === 0) {
        x++
        continue
      }
      const x0 = x
      while (x < nx && mask[offset + x] !== 0) x++
      if (count === capacity) {
        capacity *= 2
        const s = new Int32Array(capacity)
        s.set(start)
        start = s
        const e = new Int32Array(capacity)
        e.set(end)
        end = e
      }
      start[count] = x0
      end[count] = x
      count++
    }
  }
  rowStart[rows] = count
  return { count, start, end, rowStart }
}

const find = (parent: Int32Array, a: number): number => {
  while (parent[a] !== a) {
    const up = parent[parent[a]!]!
    parent[a] = up
    a = up
  }
  return a
}

/** Every run's component: `root[i]` is the same for runs of one component. */
const label = (mask: Uint8Array, shape: Shape3): { runs: Runs; root: Int32Array; size: Float64Array } => {
  const [, ny, nz] = shape
  const runs = findRuns(mask, shape)
  const { count, start, end, rowStart } = runs
  const parent = new Int32Array(count)
  const size = new Float64Array(count)
  for (let i = 0; i < count; i++) {
    parent[i] = i
    size[i] = end[i]! - start[i]!
  }
  const union = (a: number, b: number): void => {
    let ra = find(parent, a)
    let rb = find(parent, b)
    if (ra === rb) return
    if (size[ra]! < size[rb]!) {
      const t = ra
      ra = rb
      rb = t
    }
    parent[rb] = ra
    size[ra] += size[rb]!
  }
  /** Unite overlapping runs of two rows (both sorted by x): a two-pointer sweep. */
  const connectRows = (r: number, q: number): void => {
    let i = rowStart[r]!
    const iEnd = rowStart[r + 1]!
    let j = rowStart[q]!
    const jEnd = rowStart[q + 1]!
    while (i < iEnd && j < jEnd) {
      // Half-open [start, end): sharing an x is a face contact; touching ends are not.
      if (start[i]! < end[j]! && start[j]! < end[i]!) union(i, j)
      if (end[i]! < end[j]!) i++
      else j++
    }
  }
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const r = y + ny * z
      if (rowStart[r] === rowStart[r + 1]) continue
      if (y > 0) connectRows(r, r - 1)
      if (z > 0) connectRows(r, r - ny)
    }
  }
  const root = new Int32Array(count)
  for (let i = 0; i < count; i++) root[i] = find(parent, i)
  return { runs, root, size }
}

/** Sizes (voxels) of every component, largest first. */
export const componentSizes = (mask: Uint8Array, shape: Shape3): number[] => {
  checkShape(mask, shape, "componentSizes")
  const { runs, root, size } = label(mask, shape)
  const sizes: number[] = []
  for (let i = 0; i < runs.count; i++) if (root[i] === i) sizes.push(size[i]!)
  return sizes.sort((a, b) => b - a)
}

export interface KeepOptions {
  /**
   * Absent: keep only the largest component (the first in scan order on a tie). A number r:
   * keep every component of at least r times the largest's size (the release keeps r = 0.5;
   * r = 1 keeps all components tied for largest).
   */
  readonly minRatio?: number
  /**
   * Only components holding at least one non-zero voxel of `seeds` compete (the release's
   * `S` argument of post_processing). Absent: every component.
   */
  readonly seeds?: Uint8Array
  /** Buffer for the result (same voxel count); allocated when absent. May not alias `mask`. */
  readonly out?: Uint8Array
}

/** The mask reduced to the chosen components (values 0/1). */
export const keepComponents = (mask: Uint8Array, shape: Shape3, options: KeepOptions = {}): Uint8Array => {
  checkShape(mask, shape, "keepComponents")
  if (options.seeds !== undefined) checkShape(options.seeds, shape, "keepComponents seeds")
  if (options.minRatio !== undefined && !(options.minRatio >= 0 && options.minRatio <= 1)) {
    throw new RangeError(`minRatio must lie in [0, 1], got ${options.minRatio}`)
  }
  const out = options.out ?? new Uint8Array(mask.length)
  if (out.length !== mask.length) throw new RangeError(`keepComponents: out holds ${out.length} voxels, the mask ${mask.length}`)
  if (out === mask) throw new RangeError("keepComponents: out may not be the input mask")
  const nx = shape[0]
  const { runs, root, size } = label(mask, shape)
  const { count, start, end, rowStart } = runs
  const rows = rowStart.length - 1

  let eligible: Uint8Array | undefined
  if (options.seeds !== undefined) {
    const seeds = options.seeds
    eligible = new Uint8Array(count)
    for (let r = 0; r < rows; r++) {
      const offset = r * nx
      for (let i = rowStart[r]!; i < rowStart[r + 1]!; i++) {
        if (eligible[root[i]!]) continue
        for (let x = offset + start[i]!; x < offset + end[i]!; x++) {
          if (seeds[x] !== 0) {
            eligible[root[i]!] = 1
            break
          }
        }
      }
    }
  }

  // Components in the order their first voxel is scanned, so a tie resolves to the one met first.
  let best = -1
  const seen = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    const r = root[i]!
    if (seen[r] || (eligible !== undefined && !eligible[r])) continue
    seen[r] = 1
    if (best < 0 || size[r]! > size[best]!) best = r
  }
  out.fill(0)
  if (best < 0) return out
  const keep = new Uint8Array(count)
  if (options.minRatio === undefined) keep[best] = 1
  else {
    const threshold = options.minRatio * size[best]!
    for (let i = 0; i < count; i++) {
      if (root[i] === i && (eligible === undefined || eligible[i]) && size[i]! >= threshold) keep[i] = 1
    }
  }
  for (let r = 0; r < rows; r++) {
    const offset = r * nx
    for (let i = rowStart[r]!; i < rowStart[r + 1]!; i++) {
      if (keep[root[i]!]) out.fill(1, offset + start[i]!, offset + end[i]!)
    }
  }
  return out
}

/** The largest 6-connected component of `mask`. */
export const largestComponent = (mask: Uint8Array, shape: Shape3, out?: Uint8Array): Uint8Array =>
  keepComponents(mask, shape, out === undefined ? {} : { out })

/**
 * The reference release's post-processing (utils.py `post_processing(F, S, 0.5)`): keep every
 * component at least half the size of the largest among those holding a seed voxel; a mask
 * that is empty or covers at least half the volume is returned unchanged (as a copy).
 */
export const releasePostProcessing = (mask: Uint8Array, shape: Shape3, seeds: Uint8Array = mask): Uint8Array => {
  checkShape(mask, shape, "releasePostProcessing")
  let fg = 0
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) fg++
  if (fg === 0 || fg >= mask.length / 2) {
    const copy = new Uint8Array(mask.length)
    for (let i = 0; i < mask.length; i++) copy[i] = mask[i] !== 0 ? 1 : 0
    return copy
  }
  return keepComponents(mask, shape, { minRatio: 0.5, seeds })
}
