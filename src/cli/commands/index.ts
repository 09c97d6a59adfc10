/** Every `rstn` command, in the order `rstn --help` lists them. */
import type { Command } from "../command.ts"
import { statusCommand } from "./status.ts"
import { inspectCommand } from "./inspect.ts"
import { phantomCommand } from "./phantom.ts"
import { watchCommand } from "./watch.ts"
import { validateCommand } from "./validate.ts"
import { schemaCommand } from "./schema.ts"
import { configCommand } from "./config.ts"
import { doctorCommand } from "./doctor.ts"

export const commands: ReadonlyArray<Command> = [statusCommand, inspectCommand, phantomCommand, watchCommand, validateCommand, schemaCommand, configCommand, doctorCommand]
