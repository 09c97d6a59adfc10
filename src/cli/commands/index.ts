/** Every `rstn` command, in the order `rstn --help` lists them. */
import type { Command } from "../command.ts"
import { runCommand } from "./run.ts"
import { resumeCommand } from "./resume.ts"
import { planCommand } from "./plan-pipeline.ts"
import { statusCommand } from "./status.ts"
import { inspectCommand } from "./inspect.ts"
import { phantomCommand } from "./phantom.ts"
import { watchCommand } from "./watch.ts"
import { validateCommand } from "./validate.ts"
import { schemaCommand } from "./schema.ts"
import { configCommand } from "./config.ts"
import { doctorCommand } from "./doctor.ts"

export const commands: ReadonlyArray<Command> = [
  runCommand,
  resumeCommand,
  statusCommand,
  watchCommand,
  planCommand,
  validateCommand,
  configCommand,
  schemaCommand,
  phantomCommand,
  inspectCommand,
  doctorCommand
]
