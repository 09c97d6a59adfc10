/**
 * The Recurrent Saliency Transformation Network as one object: a coarse FCN-8s, an optional
 * saliency transformation (absent in the stage-wise baseline) and a fine FCN-8s, with their
 * parameters under `coarse/`, `saliency/` and `fine/`. Training (src/ops/train) and inference
 * (src/ops/infer) compose the same pieces defined here.
 */
import * as tf from "@tensorflow/tfjs"
import { crop, uncrop, type Box } from "./crop.ts"
import { createFcn8s, describeFcn8s, fcn8sForward, type Fcn8s, type Fcn8sConfig } from "./fcn8s.ts"
import type { ForwardContext } from "./layers.ts"
import { disposeParams, indexParams, type Param } from "./param.ts"
import { createSaliency, describeSaliency, saliencyForward, type Saliency, type SaliencyConfig } from "./saliency.ts"

export interface RstnConfig {
  readonly coarse: Fcn8sConfig
  readonly fine: Fcn8sConfig
  /** null: no saliency transform (the stage-wise baseline). */
  readonly saliency: SaliencyConfig | null
}

export interface Rstn {
  readonly config: RstnConfig
  readonly coarse: Fcn8s
  readonly fine: Fcn8s
  readonly saliency: Saliency | null
  /** Every parameter: coarse, saliency, fine. */
  readonly params: ReadonlyArray<Param>
  readonly byName: ReadonlyMap<string, Param>
  dispose(): void
}

/** Builds the networks with weights initialised from `seed` (each parameter its own stream). */
export const createRstn = (config: RstnConfig, seed: number): Rstn => {
  if (config.saliency && config.saliency.channels !== config.coarse.outChannels) {
    throw new RangeError(`saliency maps ${config.saliency.channels} channels but the coarse network outputs ${config.coarse.outChannels}`)
  }
  if (config.fine.inChannels !== config.coarse.inChannels) throw new RangeError("coarse and fine networks must take the same input channels")
  if (config.fine.outChannels !== config.coarse.outChannels) throw new RangeError("coarse and fine networks must give the same output channels")
  const s = config.saliency?.channels
  if (s !== undefined && s !== config.fine.inChannels && s !== 1 && config.fine.inChannels !== 1) {
    throw new RangeError(`saliency weights of ${s} channels cannot multiply an input of ${config.fine.inChannels}`)
  }
  const coarse = createFcn8s("coarse", config.coarse, seed)
  const saliency = config.saliency ? createSaliency(config.saliency, seed) : null
  const fine = createFcn8s("fine", config.fine, seed)
  const params = [...coarse.params, ...(saliency?.params ?? []), ...fine.params]
  return {
    config,
    coarse,
    fine,
    saliency,
    params,
    byName: indexParams(params),
    dispose: () => disposeParams(params)
  }
}

/** JSON description of the architecture, written into checkpoints. */
export const describeRstn = (c: RstnConfig) => ({
  kind: "rstn" as const,
  coarse: describeFcn8s(c.coarse),
  saliency: c.saliency ? describeSaliency(c.saliency) : null,
  fine: describeFcn8s(c.fine)
})

export const coarseLogits = (m: Rstn, image: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D => fcn8sForward(m.coarse, image, ctx)

/**
 * The fine network's full-size input: image ⊗ g(probability) per channel, or the plain image
 * when `probability` is null or the model has no saliency transform.
 */
export const fineInput = (m: Rstn, image: tf.Tensor4D, probability: tf.Tensor4D | null): tf.Tensor4D =>
  m.saliency && probability ? tf.mul(image, saliencyForward(m.saliency, probability)) : image

/** Runs the fine network on `box` of a full-size input and pastes its logits back (outside: OUTSIDE_LOGIT). */
export const fineLogitsInBox = (m: Rstn, input: tf.Tensor4D, box: Box, ctx: ForwardContext): tf.Tensor4D => {
  const [, h, w] = input.shape
  return uncrop(fcn8sForward(m.fine, crop(input, box), ctx), box, h, w)
}
