/** A pipeline node cannot do its work for a reason the user can fix (named in `hint`). */
import { Data } from "effect"

export class NodeFailure extends Data.TaggedError("NodeFailure")<{
  readonly message: string
  readonly hint: string
  readonly caseId?: string
  readonly file?: string
}> {}
