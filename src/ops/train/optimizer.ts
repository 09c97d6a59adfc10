/**
 * Optimisers written as explicit update rules over our named variables, so that every slot is
 * inspectable and goes into a checkpoint under a stable name, and so that each parameter group
 * has its own learning-rate multiplier (rstn-reference.md "Training": the release's coarse
 * weights 1x, coarse biases 2x, fine weights 10x, fine biases 20x).
 *
 * - SGD with momentum, Caffe's rule (the release's solver): v = μ·v + lr·m·(g + wd·w); w -= v.
 * - Adam (Kingma & Ba) with bias correction and optional decoupled weight decay (AdamW):
 *   w -= lr·m·(m̂ / (√v̂ + ε) + wd·w).
 * Weight decay applies to convolution kernels only (biases and norms: the release's decay_mult 0).
 * A parameter that receives no gradient in a step is left untouched (its slots too).
 */
import * as tf from "@tensorflow/tfjs"
import { adamStep, hasAdamKernel } from "../kernels/adam.ts"
import { groupOf, isDecayed, makeParam, type Param, type ParamGroup } from "../nets/param.ts"
import type { NamedArray } from "./checkpoint.ts"

export type GroupMultipliers = Readonly<Record<ParamGroup, number>>

/** The release's multipliers; the saliency layers learn at the fine network's rates (training_J3x10.prototxt). */
export const releaseMultipliers: GroupMultipliers = {
  "coarse-weights": 1,
  "coarse-biases": 2,
  "fine-weights": 10,
  "fine-biases": 20,
  "saliency-weights": 10,
  "saliency-biases": 20
}

export const uniformMultipliers: GroupMultipliers = {
  "coarse-weights": 1,
  "coarse-biases": 1,
  "fine-weights": 1,
  "fine-biases": 1,
  "saliency-weights": 1,
  "saliency-biases": 1
}

export interface SgdConfig {
  readonly kind: "sgd"
  readonly lr: number
  readonly momentum: number
  readonly weightDecay: number
  readonly multipliers: GroupMultipliers
}

export interface AdamConfig {
  readonly kind: "adam"
  readonly lr: number
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
  readonly weightDecay: number
  readonly multipliers: GroupMultipliers
}

export type OptimizerConfig = SgdConfig | AdamConfig

/** The release's solver (rstn-reference.md "Training": momentum 0.99, weight decay 5e-4, lr 1e-5). */
export const releaseSgd: SgdConfig = { kind: "sgd", lr: 1e-5, momentum: 0.99, weightDecay: 5e-4, multipliers: releaseMultipliers }

/** From-scratch CPU training (design.md "Training from scratch": Adam 1e-3 with batch norm). */
export const cpuAdam: AdamConfig = { kind: "adam", lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0, multipliers: uniformMultipliers }

export interface Optimizer {
  readonly config: OptimizerConfig
  /** Updates applied so far (Adam's t). */
  readonly updates: number
  /**
   * Applies one update. `grads` maps tfjs variable names (as `tf.variableGrads` returns them)
   * to gradients; `lr` is the scheduled base learning rate for this step.
   */
  apply(grads: Readonly<Record<string, tf.Tensor>>, lr: number): void
  /** Host copies of every slot, named `optimizer/<slot>/<parameter name>`. */
  slots(): NamedArray[]
  /** Restores slots and the update count; the caller has checked names and shapes. */
  restore(slots: ReadonlyMap<string, NamedArray>, updates: number): void
  /** Names and shapes of the slots, for checkpoint validation. */
  slotShapes(): ReadonlyArray<{ name: string; shape: ReadonlyArray<number> }>
  dispose(): void
}

const slotNames = (c: OptimizerConfig): ReadonlyArray<string> => (c.kind === "sgd" ? ["momentum"] : ["m", "v"])

export const checkOptimizerConfig = (c: OptimizerConfig): void => {
  if (!(c.lr > 0)) throw new RangeError(`optimizer: lr ${c.lr} must be positive`)
  if (!(c.weightDecay >= 0)) throw new RangeError(`optimizer: weight decay ${c.weightDecay} must be >= 0`)
  if (c.kind === "sgd" && !(c.momentum >= 0 && c.momentum < 1)) throw new RangeError(`sgd: momentum ${c.momentum} must be in [0, 1)`)
  if (c.kind === "adam" && !(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1 && c.epsilon > 0)) {
    throw new RangeError("adam: beta1, beta2 in [0, 1) and epsilon > 0")
  }
}

/** An optimiser over the trainable parameters in `params` (the others are ignored). */
export const createOptimizer = (config: OptimizerConfig, params: ReadonlyArray<Param>): Optimizer => {
  checkOptimizerConfig(config)
  const trainable = params.filter((p) => p.trainable)
  const names = slotNames(config)
  // slot variables: slot name -> one zero-initialised variable per trainable parameter
  const slots = new Map(
    names.map((s) => [s, trainable.map((p) => makeParam(`optimizer/${s}/${p.name}`, p.net, p.kind, p.variable.shape, new Float32Array(p.variable.size), false))])
  )
  let updates = 0

  const apply = (grads: Readonly<Record<string, tf.Tensor>>, lr: number): void => {
    const t = updates + 1
    tf.tidy(() => {
      trainable.forEach((p, i) => {
        const g = grads[p.variable.name]
        if (!g) return
        const rate = lr * config.multipliers[groupOf(p)]
        const decay = isDecayed(p) ? config.weightDecay : 0
        const w = p.variable
        if (config.kind === "sgd") {
          const v = slots.get("momentum")![i]!.variable
          const step = tf.mul(decay > 0 ? tf.add(g, tf.mul(w, decay)) : g, rate)
          const nv = tf.add(tf.mul(v, config.momentum), step)
          v.assign(nv)
          w.assign(tf.sub(w, nv))
        } else {
          const m = slots.get("m")![i]!.variable
          const v = slots.get("v")![i]!.variable
          // bias corrections in double precision on the host, identical on every backend
          const c1 = 1 - config.beta1 ** t
          const c2 = 1 - config.beta2 ** t
          if (hasAdamKernel(tf.getBackend())) {
            // One fused kernel, bit-identical to the op chain below (src/ops/kernels/adam.ts).
            const [nw, nm, nv] = adamStep(w, m, v, g, { beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon, c1, c2, rate, decay })
            m.assign(nm)
            v.assign(nv)
            w.assign(nw)
            return
          }
          const nm = tf.add(tf.mul(m, config.beta1), tf.mul(g, 1 - config.beta1))
          const nv = tf.add(tf.mul(v, config.beta2), tf.mul(tf.square(g), 1 - config.beta2))
          m.assign(nm)
          v.assign(nv)
          let direction = tf.div(tf.div(nm, c1), tf.add(tf.sqrt(tf.div(nv, c2)), config.epsilon))
          if (decay > 0) direction = tf.add(direction, tf.mul(w, decay))
          w.assign(tf.sub(w, tf.mul(direction, rate)))
        }
      })
    })
    updates = t
  }

  const all = () => [...slots.values()].flat()
  return {
    config,
    get updates() {
      return updates
    },
    apply,
    slots: () => all().map((s) => ({ name: s.name, shape: [...s.variable.shape], data: Float32Array.from(s.variable.dataSync() as Float32Array) })),
    slotShapes: () => all().map((s) => ({ name: s.name, shape: s.variable.shape })),
    restore: (arrays, n) => {
      for (const s of all()) {
        const a = arrays.get(s.name)
        if (!a) throw new Error(`optimizer slot ${s.name} missing (validate before restoring)`)
        tf.tidy(() => s.variable.assign(tf.tensor(a.data, s.variable.shape, "float32")))
      }
      updates = n
    },
    dispose: () => {
      for (const s of all()) s.variable.dispose()
    }
  }
}
