/**
 * The shape of most of rstn's user-facing errors: a file (or flag, or directory), what is wrong
 * with it and the fix, rendered as `file: reason` (src/cli/render-error.ts adds the hint).
 * `class XError extends fileProblem("XError") {}` gives a `Data.TaggedError` with those fields.
 */
import { Data } from "effect"

export const fileProblem = <Tag extends string>(tag: Tag) =>
  class extends Data.TaggedError(tag)<{ readonly file: string; readonly reason: string; readonly hint: string }> {
    override get message(): string {
      return `${this.file}: ${this.reason}`
    }
  }
