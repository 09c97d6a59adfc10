/**
 * The one failure of reading a DICOM series: it names the series directory, the file at fault
 * when one is (a slice), what is wrong, and how to fix it.
 */
import { Data } from "effect"

export class DicomError extends Data.TaggedError("DicomError")<{
  /** The series directory (or, for a single file given alone, that file). */
  readonly dir: string
  /** The slice file at fault, when the fault is one file's. */
  readonly file?: string
  readonly reason: string
  readonly hint: string
}> {
  override get message(): string {
    return `cannot read DICOM series ${this.dir}: ${this.file !== undefined ? `${this.file}: ` : ""}${this.reason}`
  }
}
