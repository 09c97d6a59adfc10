/**
 * What every pipeline node reads besides its own configuration: the resolved pipeline, its
 * cases, and its training phases. Nodes hash only the parts they read (compile.ts); this is
 * the shared, read-only context their code runs with.
 */
import type { Pipeline } from "../../dsl/pipeline.ts"
import type { PlannedPhase } from "../../dsl/training-plan.ts"
import type { PipelineDataset } from "../pipeline-dataset.ts"

export interface PipelineEnv {
  readonly pipeline: Pipeline
  readonly dataset: PipelineDataset
  readonly phases: ReadonlyArray<PlannedPhase>
}

/** File names of node outputs, shared by the nodes that write and read them. */
export const WEIGHTS_FILE = "weights.ckpt"
export const probabilityFile = "probability.f32"
export const roundMaskFile = (round: number): string => `round-${String(round).padStart(2, "0")}.nii.gz`
