/**
 * Round 0 of the coarse-to-fine test for one view (rstn-reference.md "Testing" step 1): the
 * coarse network on every sample of the volume, in batches, with each sample's 3 output
 * channels put back on the slices they came from and averaged where samples overlap.
 */
import * as tf from "@tensorflow/tfjs"
import { networkStacks, outputForThickness, stackSize } from "../nets/stacks.ts"
import { coarseLogits, type Rstn } from "../nets/rstn.ts"
import { accumulateStacks, createAccumulator, finishAccumulator, sliceCount, type Thickness, type View } from "../views.ts"
import type { Shape3 } from "../volume.ts"

export interface InferenceVolume {
  readonly shape: Shape3
  /** The CT windowed to [0, 1]. */
  readonly image: Float32Array
}

export interface CoarsePassOptions {
  /** Samples per forward pass (default 4). */
  readonly batchSize?: number
  /** Slice thickness (default 3). */
  readonly thickness?: Thickness
}

/**
 * The coarse pass one batch at a time: each `next()` runs one forward pass, and the generator
 * returns the view's probability volume (NIfTI order, values in [0, 1]). A caller that must stay
 * responsive (a node that stops at safe points on Ctrl-C or scancel) iterates it; others use
 * `coarsePass`.
 */
export function* coarsePassBatches(model: Rstn, volume: InferenceVolume, view: View, options: CoarsePassOptions = {}): Generator<void, Float32Array> {
  const batchSize = options.batchSize ?? 4
  const thickness = options.thickness ?? 3
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`coarse pass: batch size ${batchSize}`)
  const [h, w] = stackSize(volume.shape, view)
  const { inChannels: cin, outChannels: cout } = model.config.coarse
  const acc = createAccumulator(volume.shape, view, thickness)
  const n = sliceCount(volume.shape, view)
  for (let start = 0; start < n; start += batchSize) {
    const slices = Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i)
    const stacks = networkStacks({ shape: volume.shape, data: volume.image }, view, slices, thickness, cin)
    const out = tf.tidy(() => tf.sigmoid(coarseLogits(model, tf.tensor4d(stacks, [slices.length, h, w, cin]), { training: false })))
    const probability = out.dataSync() as Float32Array
    out.dispose()
    accumulateStacks(acc, outputForThickness(probability, thickness, cout), slices)
    yield
  }
  return finishAccumulator(acc)
}

/** The view's probability volume (NIfTI order, values in [0, 1]). */
export const coarsePass = (model: Rstn, volume: InferenceVolume, view: View, options: CoarsePassOptions = {}): Float32Array => {
  const batches = coarsePassBatches(model, volume, view, options)
  for (;;) {
    const step = batches.next()
    if (step.done === true) return step.value
  }
}
