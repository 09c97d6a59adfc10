/**
 * The case a failed node concerns, for its error event and the run's list of failed cases: the
 * pipeline compiler's node ids say which case a coarse or test node works on, and a training
 * node's failure names the case file it could not read.
 */
import { coarseId, testId } from "./compile.ts"
import type { FailureConcern } from "./execution/node-error.ts"
import type { PipelineDataset } from "./pipeline-dataset.ts"

const COARSE_PREFIX = coarseId("", "Z").split("/")[0]! + "/"
const TEST_PREFIX = testId("")

/** The case a test or coarse node works on, from its id (`test/CASE`, `coarse/CASE/V`; compile.ts). */
export const caseOfNode = (id: string): string | undefined => {
  if (id.startsWith(TEST_PREFIX)) return id.slice(TEST_PREFIX.length)
  if (id.startsWith(COARSE_PREFIX)) return id.slice(COARSE_PREFIX.length).split("/")[0]
  return undefined
}

/**
 * The case a failure concerns, for its error event: the one the error names, else the node's own
 * case, else the case whose image or label is the failing file (a training node reads many).
 */
export const caseOfFailure =
  (dataset: PipelineDataset) =>
  (id: string, concern: FailureConcern): string | undefined =>
    concern.caseId ??
    caseOfNode(id) ??
    (concern.file === undefined ? undefined : dataset.cases.find((c) => c.image === concern.file || c.label === concern.file)?.id)
