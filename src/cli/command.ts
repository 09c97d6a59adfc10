/** A CLI command: its flag declaration and the effect it runs, returning the exit code. */
import type { Effect } from "effect"
import type { CommandSpec, ParsedArgs } from "./args.ts"

export interface Command {
  readonly spec: CommandSpec
  /** Failures are tagged errors; `render-error.ts` turns them into the message a user sees. */
  readonly run: (args: ParsedArgs) => Effect.Effect<number, unknown>
}
