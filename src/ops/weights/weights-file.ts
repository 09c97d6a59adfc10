/**
 * Any weights file rstn reads, told apart by its first bytes (not its name): rstn's own
 * checkpoint format, a torch.save file (zip or legacy) or safetensors. Every reader returns the
 * file's tensors under the file's names; `applyMap` then renames them onto rstn's parameters.
 */
import { Either } from "effect"
import { CHECKPOINT_MAGIC, type CheckpointError, decodeCheckpoint } from "../train/checkpoint.ts"
import type { WeightMap } from "./map-names.ts"
import { applyMap, type MappedWeights } from "./maps.ts"
import { isSafetensors, readSafetensors } from "./safetensors.ts"
import { isLegacyTorch, isZip, readTorchFile } from "./torch-file.ts"
import { type SourceTensor, WeightsFileError } from "./weights-error.ts"

export type WeightsFormat = "rstn-checkpoint" | "torch-zip" | "torch-legacy" | "safetensors"

export const formatOf = (bytes: Uint8Array): WeightsFormat | null => {
  if (bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(0, 8)) === CHECKPOINT_MAGIC) return "rstn-checkpoint"
  if (isZip(bytes)) return "torch-zip"
  if (isLegacyTorch(bytes)) return "torch-legacy"
  if (isSafetensors(bytes)) return "safetensors"
  return null
}

export interface WeightsContents {
  readonly format: WeightsFormat
  readonly tensors: ReadonlyArray<SourceTensor>
}

export const readWeightsBytes = (bytes: Uint8Array, file: string): Either.Either<WeightsContents, WeightsFileError | CheckpointError> => {
  const format = formatOf(bytes)
  switch (format) {
    case "rstn-checkpoint":
      return Either.map(decodeCheckpoint(bytes, file), (c) => ({ format, tensors: c.tensors.map((t) => ({ ...t, dtype: "float32" })) }))
    case "torch-zip":
    case "torch-legacy":
      return Either.map(readTorchFile(bytes, file), (tensors) => ({ format, tensors }))
    case "safetensors":
      return Either.map(readSafetensors(bytes, file), (tensors) => ({ format, tensors }))
    default:
      return Either.left(
        new WeightsFileError({
          file,
          reason: bytes.length === 0 ? "the file is empty" : "not a weights file rstn reads (an rstn checkpoint, a torch.save file or safetensors)",
          hint: "point pretrained.file at a .ckpt written by rstn, a .pth/.pt from torch.save, or a .safetensors file"
        })
      )
  }
}

/** Reads a weights file and maps it onto rstn's names (`map: none` keeps the file's names). */
export const readMappedWeights = (
  bytes: Uint8Array,
  file: string,
  options: { readonly map: WeightMap; readonly skip?: ReadonlyArray<string> }
): Either.Either<MappedWeights & { readonly format: WeightsFormat }, WeightsFileError | CheckpointError> =>
  Either.flatMap(readWeightsBytes(bytes, file), ({ format, tensors }) =>
    Either.map(applyMap(options.map, tensors, { file, ...(options.skip === undefined ? {} : { skip: options.skip }) }), (m) => ({ ...m, format }))
  )
