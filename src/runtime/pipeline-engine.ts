/**
 * The pipeline's sections as the engine's argument types. The decoded schema already has the
 * engine's shapes (test/dsl/ops-compat.test.ts); this adds what the engine needs besides them
 * (channel counts from the slice thickness, a phase's role) in one place.
 */
import type { Pipeline } from "../dsl/pipeline.ts"
import type { PlannedPhase } from "../dsl/training-plan.ts"
import type { Fcn8sConfig } from "../ops/nets/fcn8s.ts"
import type { RstnConfig } from "../ops/nets/rstn.ts"
import type { PhaseConfig } from "../ops/train/phase.ts"
import type { TrainerConfig } from "../ops/train/trainer.ts"
import { Rng } from "../ops/random.ts"
import type { View } from "../ops/views.ts"

const network = (p: Pipeline, n: Pipeline["networks"]["coarse"]): Fcn8sConfig => ({
  ...n,
  inChannels: p.sliceThickness,
  outChannels: p.sliceThickness
})

/** The networks a pipeline trains; `withSaliency: false` drops the transform (a test without it). */
export const rstnConfig = (p: Pipeline, withSaliency = true): RstnConfig => ({
  coarse: network(p, p.networks.coarse),
  fine: network(p, p.networks.fine),
  saliency: p.saliency === null || !withSaliency ? null : { layers: p.saliency.layers, channels: p.sliceThickness }
})

export const phaseConfig = (ph: PlannedPhase): PhaseConfig => ({
  name: ph.name,
  cropFrom: ph.cropFrom,
  saliency: ph.saliency,
  unroll: ph.unroll ?? undefined,
  train: ph.trains.length === 2 ? "joint" : ph.trains[0]!
})

export const trainerConfig = (p: Pipeline, ph: PlannedPhase): TrainerConfig => ({
  phase: phaseConfig(ph),
  loss: p.training.loss,
  crop: p.crop,
  optimizer: { ...p.training.optimizer, lr: ph.lr },
  schedule: ph.schedule,
  batchSize: p.training.batchSize
})

/** Each fold and view trains its own networks from its own initial weights, all from the pipeline seed. */
export const initSeed = (seed: number, fold: number, view: View): number => Rng.derive(seed, "init", fold, view).nextUint32()
