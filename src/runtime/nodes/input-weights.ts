/**
 * A finished training node's weights as the nodes after it read them. When the file turned out
 * damaged after the node finished (a disk error, an edit), the error names the file and tells how
 * to have it made again: without the file the training node is no longer finished and reruns.
 */
import { Effect } from "effect"
import { type Checkpoint, CheckpointError, decodeCheckpoint } from "../../ops/train/checkpoint.ts"
import type { FileSystemError } from "../file-system.ts"
import type { InputArtifact } from "../node.ts"
import { WEIGHTS_FILE } from "./env.ts"

export const readInputWeights = (input: InputArtifact): Effect.Effect<Checkpoint, CheckpointError | FileSystemError> =>
  Effect.gen(function* () {
    const file = input.filePath(WEIGHTS_FILE)
    const bytes = yield* input.readFile(WEIGHTS_FILE)
    return yield* decodeCheckpoint(bytes, file).pipe(
      Effect.mapError(
        (e) =>
          new CheckpointError({
            file: e.file,
            reason: e.reason,
            hint: `the weights ${input.id} wrote are damaged: delete the file and resume, and ${input.id} runs again`
          })
      )
    )
  })
