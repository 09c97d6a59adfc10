/**
 * The training phases as the runtime runs them, one list with nothing left to look up: the
 * declared phases plus noisy-data fine-tuning as a last phase named `noisy`, each with its
 * length, schedule, base learning rate and the networks it trains spelled out.
 */
import { NOISY, type LrSchedule, type Phase, type Pipeline, type Unroll } from "./pipeline.ts"
import type { NetworkName } from "./checks.ts"

export interface PlannedPhase {
  readonly name: string
  readonly cropFrom: Phase["cropFrom"]
  /** The fine input is multiplied by the saliency transform of the coarse map. */
  readonly saliency: boolean
  readonly length: { readonly unit: "epochs" | "iterations"; readonly count: number }
  /** The phase's own schedule, else `training.schedule`. */
  readonly schedule: LrSchedule
  /** The phase's own `lr`, else the optimizer's. */
  readonly lr: number
  /** Fine passes per step after the first (null: one pass, the paper's). */
  readonly unroll: Unroll | null
  /** Joint phases train both networks (and the saliency layers when `saliency`); stage-wise ones one each. */
  readonly trains: ReadonlyArray<NetworkName>
}

const lengthOf = (x: { readonly epochs?: number | undefined; readonly iterations?: number | undefined }): PlannedPhase["length"] =>
  x.iterations !== undefined ? { unit: "iterations", count: x.iterations } : { unit: "epochs", count: x.epochs ?? 0 }

/** Expects a checked pipeline (every phase has exactly one of epochs and iterations). */
export const trainingPhases = (p: Pipeline): ReadonlyArray<PlannedPhase> => {
  const t = p.training
  const joint = t.mode === "joint"
  const phases: PlannedPhase[] = t.phases.map((ph) => ({
    name: ph.name,
    cropFrom: ph.cropFrom,
    saliency: ph.saliency,
    length: lengthOf(ph),
    schedule: ph.schedule ?? t.schedule,
    lr: ph.lr ?? t.optimizer.lr,
    unroll: ph.unroll ?? null,
    trains: joint ? ["coarse", "fine"] : [ph.name === "coarse" ? "coarse" : "fine"]
  }))
  if (t.noisyFineTune !== null) {
    // Paper, "Different Settings": crops from the coarse mask, a smaller rate, the whole framework.
    phases.push({
      name: NOISY,
      cropFrom: "coarse",
      saliency: joint && p.saliency !== null,
      length: lengthOf(t.noisyFineTune),
      schedule: t.schedule,
      lr: t.noisyFineTune.lr,
      unroll: null,
      trains: joint ? ["coarse", "fine"] : ["fine"]
    })
  }
  return phases
}
