/**
 * The one failure of NIfTI decoding: it names the file, the header field (or "data", "gzip",
 * "file") at fault, what is wrong with it, and how to fix it.
 */
import { Data } from "effect"

export class NiftiError extends Data.TaggedError("NiftiError")<{
  readonly file: string
  /** A NIfTI header field such as `dim[3]` or `vox_offset`, or "data", "gzip", "file". */
  readonly field: string
  readonly reason: string
  readonly hint: string
}> {
  override get message(): string {
    return this.field === "file"
      ? `cannot read ${this.file}: ${this.reason}`
      : `cannot read ${this.file}: ${this.field}: ${this.reason}`
  }
}
