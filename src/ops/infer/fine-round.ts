/**
 * One coarse-to-fine round for one view (rstn-reference.md "Testing" step 2): the fine network
 * runs only on samples whose 3 slices hold foreground in the previous mask Z(r-1); its input is
 * the image weighted by the saliency transform of the previous score map S(r-1), cut to the
 * previous mask's box plus K pixels; outputs are pasted back and averaged into the view's
 * probability volume. A sample that does not run counts as an empty output (probability 0) in
 * the average, as the release divides by every sample's coverage whichever ran.
 *
 * Oracles (rstn-reference.md "Oracle tests") swap the sources: the weak oracle crops by the
 * ground-truth box and keeps the iteration's saliency; the strong oracle crops by the
 * ground-truth box and weights the input by g(ground truth). (The release's oracle_testing.py
 * instead weights by g(this sample's coarse prediction): `saliency: "coarse"` reproduces it.)
 */
import * as tf from "@tensorflow/tfjs"
import { alignBox, expandBounds, fixedMargins, sampleBoxMask, activeBounds, sampleBounds, type Box } from "../nets/crop.ts"
import { networkStacks, outputForThickness, stackSize } from "../nets/stacks.ts"
import { coarseLogits, fineInput, fineLogitsInBox, type Rstn } from "../nets/rstn.ts"
import { accumulateStacks, createAccumulator, finishAccumulator, samplesTouching, type Thickness, type View } from "../views.ts"
import type { InferenceVolume } from "./coarse-pass.ts"

/** What the crop box comes from. */
export type CropSource = "previous-mask" | "ground-truth"
/** What the saliency transform reads. */
export type SaliencySource = "previous-score" | "ground-truth" | "coarse"

export type Oracle = "none" | "weak" | "strong"

export const oracleSources = (oracle: Oracle): { readonly crop: CropSource; readonly saliency: SaliencySource } =>
  oracle === "none"
    ? { crop: "previous-mask", saliency: "previous-score" }
    : oracle === "weak"
      ? { crop: "ground-truth", saliency: "previous-score" }
      : { crop: "ground-truth", saliency: "ground-truth" }

export interface FineRoundInput extends InferenceVolume {
  /** S(r-1): the previous round's fused probability volume. */
  readonly score: Float32Array
  /** Z(r-1): the previous round's mask (0/1). */
  readonly mask: Uint8Array
  /** Ground truth, needed by the oracle sources. */
  readonly label?: Uint8Array
}

export interface FineRoundOptions {
  /** K, pixels added around the box on each side (reference: 20). */
  readonly margin: number
  /** Binarisation of the crop reference (reference: 0.5). */
  readonly threshold?: number
  readonly thickness?: Thickness
  /**
   * Samples per forward pass (default 1, the release's). With more, the batch shares one box
   * covering every sample's own box, each sample zeroed outside its own (as in training).
   */
  readonly batchSize?: number
  readonly crop?: CropSource
  readonly saliency?: SaliencySource
  /** Grow every box to this pixel grid (alignBox; default 1, the paper's exact box). */
  readonly align?: number
}

export interface FineRoundResult {
  /** The view's probability volume for this round. */
  readonly probability: Float32Array
  /** Samples the fine network ran on. */
  readonly samples: number
}

export const fineRound = (model: Rstn, input: FineRoundInput, view: View, options: FineRoundOptions): FineRoundResult => {
  const thickness = options.thickness ?? 3
  const threshold = options.threshold ?? 0.5
  const batchSize = options.batchSize ?? 1
  const cropSource = options.crop ?? "previous-mask"
  const saliencySource = options.saliency ?? "previous-score"
  const align = options.align ?? 1
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`fine round: batch size ${batchSize}`)
  if ((cropSource === "ground-truth" || saliencySource === "ground-truth") && !input.label) {
    throw new RangeError("fine round: the oracle sources need the ground-truth label")
  }
  const { shape } = input
  const [h, w] = stackSize(shape, view)
  const { inChannels: cin, outChannels: cout } = model.config.fine
  const reference = { shape, data: cropSource === "ground-truth" ? input.label! : input.mask }
  const saliencyMap = saliencySource === "previous-score" ? input.score : saliencySource === "ground-truth" ? input.label! : null
  const selected = samplesTouching(reference, view, thickness)
  const acc = createAccumulator(shape, view, thickness)
  const margins = fixedMargins(options.margin)
  for (let start = 0; start < selected.length; start += batchSize) {
    const slices = selected.slice(start, start + batchSize)
    const n = slices.length
    const refStacks = networkStacks(reference, view, slices, thickness, thickness)
    const mapShape = { n, h, w, c: thickness }
    const bounds = activeBounds(refStacks, mapShape, threshold)
    // selected samples hold foreground in the reference, so the box exists
    const box: Box = alignBox(expandBounds(bounds!, margins, h, w), align, h, w)
    const own = sampleBounds(refStacks, mapShape, threshold).map((b) => alignBox(expandBounds(b!, margins, h, w), align, h, w))
    const image = networkStacks({ shape, data: input.image }, view, slices, thickness, cin)
    // the saliency transform reads maps in the coarse network's output layout
    const mapChannels = model.config.coarse.outChannels
    const salStacks = saliencyMap ? networkStacks({ shape, data: saliencyMap }, view, slices, thickness, mapChannels) : null
    const out = tf.tidy(() => {
      const x = tf.tensor4d(image, [n, h, w, cin])
      const map = salStacks
        ? tf.tensor4d(salStacks, [n, h, w, mapChannels])
        : tf.sigmoid(coarseLogits(model, x, { training: false }))
      let fine = fineInput(model, x, map)
      if (n > 1) fine = tf.mul(fine, sampleBoxMask(own, h, w))
      return tf.sigmoid(fineLogitsInBox(model, fine, box, { training: false }))
    })
    const probability = out.dataSync() as Float32Array
    out.dispose()
    // outside the box the probabilities are sigmoid(OUTSIDE_LOGIT) = 0: only the box adds anything
    accumulateStacks(acc, outputForThickness(probability, thickness, cout), slices, box)
  }
  return { probability: finishAccumulator(acc, { normalize: "all", fill: 0 }), samples: selected.length }
}
