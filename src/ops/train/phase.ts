/**
 * Training phases (rstn-reference.md "Training"): where the crop box comes from, whether the
 * fine input is weighted by the saliency transform, and which networks learn.
 *
 *   S — box from the label, plain image, both networks (joint loss);
 *   I — box from the label, image ⊗ saliency, joint;
 *   J — box from the coarse prediction (fallback: label), image ⊗ saliency, joint;
 *   coarse / fine — the stage-wise baseline (Zhou et al. 2016): each network alone, no saliency,
 *     the fine one on label crops;
 *   noisy — fine-tuning with crops from the coarse mask (the paper's "noisy data"), as J with a
 *     smaller learning rate given by the optimiser config.
 */

export interface PhaseConfig {
  readonly name: string
  readonly cropFrom: "label" | "coarse"
  readonly saliency: boolean
  /** Which networks learn: both with the joint loss, or one with its own DSC loss. */
  readonly train: "joint" | "coarse" | "fine"
  /**
   * Fine passes per step (default 1, the paper's). Pass k >= 2 crops by and weights with pass
   * k-1's output, as the test's rounds do; `gradient: "through"` back-propagates across passes.
   */
  readonly unroll?: { readonly passes: number; readonly gradient: "stop" | "through" }
}

export const phaseS: PhaseConfig = { name: "S", cropFrom: "label", saliency: false, train: "joint" }
export const phaseI: PhaseConfig = { name: "I", cropFrom: "label", saliency: true, train: "joint" }
export const phaseJ: PhaseConfig = { name: "J", cropFrom: "coarse", saliency: true, train: "joint" }
export const phaseCoarse: PhaseConfig = { name: "coarse", cropFrom: "label", saliency: false, train: "coarse" }
export const phaseFine: PhaseConfig = { name: "fine", cropFrom: "label", saliency: false, train: "fine" }
export const phaseNoisy: PhaseConfig = { name: "noisy", cropFrom: "coarse", saliency: true, train: "joint" }

/** Does the phase run the fine network? */
export const runsFine = (p: PhaseConfig): boolean => p.train !== "coarse"
/** Does the phase need the coarse network's output? */
export const runsCoarse = (p: PhaseConfig): boolean => p.train !== "fine" || p.cropFrom === "coarse" || p.saliency
