/**
 * Cases as the networks read them: the CT windowed to [0, 1] and the binary target, checked for
 * non-finite voxels. Training reads every case of a fold once per view and phase, and testing
 * reads each case again, so recently used cases stay in memory up to a byte budget.
 */
import { Data, Effect } from "effect"
import * as fs from "node:fs"
import type { Pipeline } from "../dsl/pipeline.ts"
import type { Volume } from "../ops/volume.ts"
import { windowVolume } from "../ops/window.ts"
import { type DatasetError, loadCase } from "./dataset.ts"
import type { NiftiError } from "../ops/nifti/index.ts"
import type { DicomError } from "../ops/dicom/index.ts"
import type { PipelineCase } from "./pipeline-dataset.ts"

/** A case whose voxel values cannot be used. */
export class CaseDataError extends Data.TaggedError("CaseDataError")<{
  readonly caseId: string
  readonly file: string
  readonly reason: string
  readonly hint: string
}> {
  override get message(): string {
    return `case ${this.caseId}: ${this.file}: ${this.reason}`
  }
}

export interface CaseVolumes {
  readonly id: string
  /** The source image's grid (outputs are written on it); its voxels live on only as `windowed`. */
  readonly grid: Pick<Volume, "shape" | "geometry">
  /** The CT windowed to [0, 1]. */
  readonly windowed: Float32Array
  readonly label: Uint8Array
}

export type CaseError = DatasetError | NiftiError | DicomError | CaseDataError

const firstNonFinite = (data: ArrayLike<number>): number => {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i
  return -1
}

const isFloat = (v: Volume): boolean => v.data instanceof Float32Array || v.data instanceof Float64Array

/** Bytes kept in memory across reads; enough for every small or medium case of a fold. */
const BUDGET = 3 * 2 ** 30
const cache = new Map<string, CaseVolumes>()
let cached = 0
const sizeOf = (c: CaseVolumes) => c.windowed.byteLength + c.label.byteLength

const remember = (key: string, c: CaseVolumes): void => {
  const bytes = sizeOf(c)
  if (bytes > BUDGET) return
  while (cached + bytes > BUDGET && cache.size > 0) {
    const [oldest, value] = cache.entries().next().value as [string, CaseVolumes]
    cache.delete(oldest)
    cached -= sizeOf(value)
  }
  cache.set(key, c)
  cached += bytes
}

export const readCase = (c: PipelineCase, p: Pipeline): Effect.Effect<CaseVolumes, CaseError> =>
  Effect.suspend(() => {
    const key = JSON.stringify([c.image, c.label, c.fingerprint, p.dataset.window, p.dataset.foreground, p.run.maxVoxels])
    const hit = cache.get(key)
    if (hit !== undefined) {
      cache.delete(key)
      cache.set(key, hit) // most recently used last
      return Effect.succeed(hit)
    }
    return Effect.gen(function* () {
      const loaded = yield* loadCase(c, { foreground: p.dataset.foreground, maxVoxels: p.run.maxVoxels }).pipe(
        Effect.catchTag("NiftiError", (e): Effect.Effect<never, CaseError> =>
          // Refused from its header alone, before any voxel is read: say which setting to raise.
          e.field === "dim" && e.reason.includes(`limit of ${p.run.maxVoxels}`)
            ? Effect.fail(
                new CaseDataError({
                  caseId: c.id,
                  file: e.file,
                  reason: `${e.reason} (run.max-voxels)`,
                  hint: "raise run.max-voxels if the machine has the memory for it, or crop or resample the case"
                })
              )
            : e.field === "file" && !fs.existsSync(e.file)
              ? Effect.fail(
                  new CaseDataError({
                    caseId: c.id,
                    file: e.file,
                    reason: "is missing (it was listed when the run started, or in an earlier run)",
                    hint: "restore the file and resume (the case's finished work is kept), or take the case out of the dataset"
                  })
                )
              : Effect.fail(e)
        )
      )
      if (isFloat(loaded.image)) {
        const at = firstNonFinite(loaded.image.data)
        if (at >= 0) {
          const [nx, ny] = loaded.image.shape
          return yield* new CaseDataError({
            caseId: c.id,
            file: c.image,
            reason: `voxel (${at % nx}, ${Math.floor(at / nx) % ny}, ${Math.floor(at / (nx * ny))}) is ${loaded.image.data[at]}`,
            hint: "the image holds NaN or infinite values: repair or re-export it (e.g. replace them with -1024 HU)"
          })
        }
      }
      const [low, high] = p.dataset.window
      const volumes: CaseVolumes = {
        id: c.id,
        grid: { shape: loaded.image.shape, geometry: loaded.image.geometry },
        windowed: windowVolume(loaded.image, { low, high }),
        label: loaded.label.data
      }
      remember(key, volumes)
      return volumes
    })
  })
