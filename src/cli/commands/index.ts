/** Every `rstn` command, in the order `rstn --help` lists them. */
import type { Command } from "../command.ts"

export const commands: ReadonlyArray<Command> = []
