/**
 * The `fuse` stage (rstn-reference.md "Testing"): average the views' probability volumes into
 * the score map S, threshold it into the mask Z, and keep connected components — the largest
 * (the paper), every component at least half the largest's size seeded by voxels all views agree
 * on (the release's post-processing), or all of them.
 */
import { keepComponents, largestComponent } from "./components.ts"
import type { Shape3 } from "./volume.ts"

export type ComponentRule = "largest" | "half-of-largest" | "all"

export interface FuseOptions {
  /** Binarisation of the averaged score (reference: 0.5). */
  readonly threshold: number
  readonly components: ComponentRule
  /**
   * Damping between rounds: S = momentum·previous + (1 - momentum)·mean of the views (default
   * 0, the paper). A fixed point of the rounds is the same with or without it; with it, a
   * voxel near the threshold stops flipping from round to round.
   */
  readonly momentum?: number
  /** The previous round's S, which `momentum` blends in (ignored without momentum). */
  readonly previous?: Float32Array | null
}

export interface Fused {
  /** S: the mean of the views' probabilities. */
  readonly score: Float32Array
  /** Z: the thresholded, component-filtered mask (0/1). */
  readonly mask: Uint8Array
}

export const fuseViews = (shape: Shape3, views: ReadonlyArray<Float32Array>, options: FuseOptions): Fused => {
  if (views.length === 0) throw new RangeError("fuse: no view to fuse")
  const n = shape[0] * shape[1] * shape[2]
  for (const v of views) if (v.length !== n) throw new RangeError(`fuse: a view holds ${v.length} values for ${n} voxels`)
  const momentum = options.momentum ?? 0
  if (!(momentum >= 0 && momentum < 1)) throw new RangeError(`fuse: momentum ${momentum} is outside [0, 1)`)
  const previous = momentum > 0 ? (options.previous ?? null) : null
  if (previous && previous.length !== n) throw new RangeError(`fuse: the previous score map holds ${previous.length} values for ${n} voxels`)
  const score = new Float32Array(n)
  const binary = new Uint8Array(n)
  // Voxels every view puts above the threshold: the release's seeds for its component rule.
  const agreed = options.components === "half-of-largest" ? new Uint8Array(n) : undefined
  const inv = 1 / views.length
  for (let i = 0; i < n; i++) {
    let sum = 0
    let all = 1
    for (const v of views) {
      const p = v[i]!
      sum += p
      if (p < options.threshold) all = 0
    }
    const s = previous ? momentum * previous[i]! + (1 - momentum) * sum * inv : sum * inv
    score[i] = s
    binary[i] = s >= options.threshold ? 1 : 0
    if (agreed) agreed[i] = all
  }
  const mask =
    options.components === "largest"
      ? largestComponent(binary, shape)
      : options.components === "half-of-largest"
        ? keepComponents(binary, shape, { minRatio: 0.5, seeds: agreed })
        : binary
  return { score, mask }
}
