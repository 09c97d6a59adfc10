/**
 * A CLI command: its declaration (`specs.ts`) and a loader for its code. The code is imported
 * only when the command runs, so `rstn validate` loads neither TensorFlow.js nor Ink, and
 * `rstn --help` loads no library at all.
 */
import type { Effect } from "effect"
import type { CommandSpec, ParsedArgs } from "./args.ts"

/** Failures are tagged errors; `render-error.ts` turns them into the message a user sees. */
export type Run = (args: ParsedArgs) => Effect.Effect<number, unknown>

export interface Command {
  readonly spec: CommandSpec
  readonly load: () => Promise<Run>
}
