/** Why a weights file (PyTorch, safetensors) cannot be read or mapped onto rstn's names. */
import { Data } from "effect"

export class WeightsFileError extends Data.TaggedError("WeightsFileError")<{
  readonly file: string
  /** The tensor concerned, by its name in the file, when there is one. */
  readonly tensor?: string
  readonly reason: string
  readonly hint: string
}> {
  override get message(): string {
    return `${this.file}${this.tensor === undefined ? "" : `: tensor ${this.tensor}`}: ${this.reason}`
  }
}

/** A tensor as read from a file: its name and shape in the file's layout, values as float32. */
export interface SourceTensor {
  readonly name: string
  /** The element type stored in the file (values are converted to float32 on reading). */
  readonly dtype: string
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array
}
