/** The `rstn` entry point: dispatches to a command and renders its failures in one place. */
import { Cause, Effect, Exit, Option } from "effect"
import { help, parse, UsageError } from "./args.ts"
import { commands } from "./commands/index.ts"
import { renderError } from "./render-error.ts"

const topLevelHelp = (): string => {
  const width = Math.max(...commands.map((c) => c.spec.name.length)) + 2
  return [
    "usage: rstn COMMAND [args] [flags]",
    "",
    "Recurrent Saliency Transformation Network pipelines for small-organ CT segmentation.",
    "",
    "commands:",
    ...commands.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`),
    "",
    "rstn COMMAND --help describes every flag of a command."
  ].join("\n")
}

export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  const [name, ...rest] = argv
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(topLevelHelp() + "\n")
    return name === undefined ? 2 : 0
  }
  const command = commands.find((c) => c.spec.name === name)
  if (command === undefined) {
    const { didYouMean } = await import("../dsl/did-you-mean.ts")
    const guess = didYouMean(name, commands.map((c) => c.spec.name))
    process.stderr.write(`rstn: unknown command '${name}'${guess ? ` (did you mean '${guess}'?)` : ""}\n`)
    return 2
  }
  const parsed = parse(command.spec, rest)
  if (parsed instanceof UsageError) {
    process.stderr.write(renderError(parsed) + "\n")
    return 2
  }
  if (parsed.flags.help === true) {
    process.stdout.write(help(command.spec) + "\n")
    return 0
  }
  const exit = await Effect.runPromiseExit(command.run(parsed))
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    process.stderr.write(renderError(failure.value) + "\n")
    return failure.value instanceof UsageError ? 2 : 1
  }
  if (Cause.isInterruptedOnly(exit.cause)) return 130
  process.stderr.write(`rstn: internal error:\n${Cause.pretty(exit.cause)}\n`)
  return 1
}
