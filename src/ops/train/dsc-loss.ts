/**
 * The DSC loss and the joint RSTN loss (rstn-reference.md "Training"):
 *   DSC_loss(P, Y) = 1 - mean over the batch of (2·ΣPY + ε) / (Σ(P + Y) + ε),
 *   L = λ·DSC_loss(coarse) + (1 - λ)·DSC_loss(fine),
 * sums over every pixel and channel of a sample.
 */
import * as tf from "@tensorflow/tfjs"

export interface LossConfig {
  /** λ, the coarse term's weight (reference: 1/3). */
  readonly lambda: number
  /** ε (reference: 1e-6). */
  readonly epsilon: number
}

export const referenceLoss: LossConfig = { lambda: 1 / 3, epsilon: 1e-6 }

/** P and Y are [N, H, W, C] probabilities / labels; returns a scalar. */
export const dscLoss = (p: tf.Tensor4D, y: tf.Tensor4D, epsilon: number): tf.Scalar =>
  tf.tidy(() => {
    const inter = tf.sum(tf.mul(p, y), [1, 2, 3])
    const total = tf.add(tf.sum(p, [1, 2, 3]), tf.sum(y, [1, 2, 3]))
    const dsc = tf.div(tf.add(tf.mul(inter, 2), epsilon), tf.add(total, epsilon))
    return tf.sub(1, tf.mean(dsc)) as tf.Scalar
  })

export const jointLoss = (coarse: tf.Scalar, fine: tf.Scalar, lambda: number): tf.Scalar =>
  tf.add(tf.mul(coarse, lambda), tf.mul(fine, 1 - lambda))
