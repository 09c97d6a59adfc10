/**
 * Learning-rate schedules. The release halves the rate every 2 epochs of phase J
 * (rstn-reference.md "Training"); a step schedule counts in iterations or epochs.
 */

export type ScheduleConfig =
  | { readonly kind: "constant" }
  | {
      readonly kind: "step"
      /** Decay every `every` units. */
      readonly every: number
      readonly unit: "iterations" | "epochs"
      /** Multiply the rate by this at each step (release: 0.5). */
      readonly factor: number
    }

export const constantSchedule: ScheduleConfig = { kind: "constant" }

export const checkSchedule = (s: ScheduleConfig): void => {
  if (s.kind === "step" && !(s.every > 0 && s.factor > 0)) throw new RangeError("step schedule: every and factor must be positive")
}

/**
 * The rate at a 0-based iteration. `iterationsPerEpoch` converts epochs (it is the sampler's
 * batches per epoch).
 */
export const learningRate = (base: number, s: ScheduleConfig, iteration: number, iterationsPerEpoch: number): number => {
  if (s.kind === "constant") return base
  const unit = s.unit === "epochs" ? s.every * iterationsPerEpoch : s.every
  return base * s.factor ** Math.floor(iteration / Math.max(1, unit))
}
