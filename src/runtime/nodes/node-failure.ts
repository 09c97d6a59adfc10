/**
 * A pipeline node cannot do its work for a reason the user can fix (named in `hint`). A schema
 * class, since a worker process or a Slurm job reports it to the driver (execution/node-error.ts).
 */
import { Schema } from "effect"

export class NodeFailure extends Schema.TaggedError<NodeFailure>()("NodeFailure", {
  message: Schema.String,
  hint: Schema.String,
  caseId: Schema.optional(Schema.String),
  file: Schema.optional(Schema.String)
}) {}
