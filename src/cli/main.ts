/**
 * The `rstn` entry point: dispatches to a command, renders its failures in one place, and gives
 * every command the same exit codes (`EXIT`).
 *
 * Start-up time is part of the interface (editors and CI call `rstn validate` on every save and
 * push): this module imports only the command declarations. A command's code, and Effect, are
 * imported once the command is known, so `rstn --help` loads no library at all and
 * `rstn validate` loads neither TensorFlow.js nor Ink.
 */
import type { Command } from "./command.ts"
import { commands } from "./commands/index.ts"

/** The exit codes of every command (README, "Exit codes"). */
export const EXIT = {
  ok: 0,
  /** Problems found (an invalid file, an unreadable input) or the run failed. */
  failed: 1,
  /** The command line is wrong: unknown command or flag, a bad flag value, missing arguments. */
  usage: 2,
  /** Stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it). */
  interrupted: 130
} as const

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
    "rstn help COMMAND (or rstn COMMAND --help) describes every flag of a command; rstn --version.",
    "exit codes: 0 ok, 1 problems found or the run failed, 2 usage error, 130 interrupted"
  ].join("\n")
}

const find = (name: string): Command | undefined => commands.find((c) => c.spec.name === name)

/**
 * While a command that does not handle signals itself runs, Ctrl-C and SIGTERM end the process
 * with EXIT.interrupted (Node's default would end it by the signal, which is not an exit code).
 * A command that handles them (`rstn run` stops at its next safe point) adds its own listener,
 * and this one then leaves the signal to it.
 */
const exitOnSignals = (): (() => void) => {
  const handler = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 1) return
    process.exit(EXIT.interrupted)
  }
  process.on("SIGINT", handler)
  process.on("SIGTERM", handler)
  return () => {
    process.off("SIGINT", handler)
    process.off("SIGTERM", handler)
  }
}

export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  const [name, ...rest] = argv
  if (name === "--version" || name === "-V") {
    const { packageVersion } = await import("./version.ts")
    process.stdout.write(`rstn ${packageVersion()}\n`)
    return EXIT.ok
  }
  if (name === undefined) {
    process.stderr.write(topLevelHelp() + "\n")
    return EXIT.usage
  }
  if (name === "--help" || name === "-h" || (name === "help" && rest.length === 0)) {
    process.stdout.write(topLevelHelp() + "\n")
    return EXIT.ok
  }
  const { help, parse, UsageError } = await import("./args.ts")
  const { renderError } = await import("./render-error.ts")
  const usage = (command: string, message: string, hint: string): number => {
    process.stderr.write(renderError(new UsageError({ command, message, hint })) + "\n")
    return EXIT.usage
  }
  const unknownCommand = async (word: string): Promise<number> => {
    const { didYouMean } = await import("../dsl/did-you-mean.ts")
    const guess = didYouMean(word, commands.map((c) => c.spec.name))
    return usage("rstn", `unknown command '${word}'`, guess ? `did you mean rstn ${guess}?` : "rstn --help lists the commands")
  }
  if (name === "help") {
    const command = find(rest[0]!)
    if (command === undefined) return unknownCommand(rest[0]!)
    if (rest.length > 1) return usage("help", `unexpected argument '${rest[1]}'`, "usage: rstn help COMMAND")
    process.stdout.write(help(command.spec) + "\n")
    return EXIT.ok
  }
  if (name.startsWith("-")) return usage("rstn", `unknown option ${name}`, "rstn COMMAND [flags]; rstn --help lists the commands")
  const command = find(name)
  if (command === undefined) return unknownCommand(name)
  const parsed = parse(command.spec, rest)
  if (parsed instanceof UsageError) {
    process.stderr.write(renderError(parsed) + "\n")
    return EXIT.usage
  }
  if (parsed.flags.help === true) {
    process.stdout.write(help(command.spec) + "\n")
    return EXIT.ok
  }
  const release = exitOnSignals()
  try {
    const [run, Effect, Exit, Cause, Option] = await Promise.all([
      command.load(),
      import("effect/Effect"),
      import("effect/Exit"),
      import("effect/Cause"),
      import("effect/Option")
    ])
    const exit = await Effect.runPromiseExit(run(parsed))
    if (Exit.isSuccess(exit)) return exit.value
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure)) {
      process.stderr.write(renderError(failure.value) + "\n")
      return failure.value instanceof UsageError ? EXIT.usage : EXIT.failed
    }
    if (Cause.isInterruptedOnly(exit.cause)) return EXIT.interrupted
    process.stderr.write(`rstn: internal error:\n${Cause.pretty(exit.cause)}\n`)
    return EXIT.failed
  } finally {
    release()
  }
}
