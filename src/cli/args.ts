/**
 * Command-line flags: each command declares its flags once; the same declaration parses argv,
 * rejects unknown flags with a did-you-mean, and renders `rstn COMMAND --help`.
 */
import { Data } from "effect"
import { didYouMean } from "../dsl/did-you-mean.ts"

export type FlagKind = "string" | "number" | "boolean"

export interface FlagSpec {
  readonly kind: FlagKind
  readonly description: string
  /** Repeatable (e.g. `--set a=1 --set b=2`); the parsed value is an array. */
  readonly multiple?: boolean
  /** Placeholder shown in help, e.g. `DIR`. */
  readonly placeholder?: string
  readonly default?: string | number | boolean
}

export interface CommandSpec {
  readonly name: string
  readonly summary: string
  /** Positional arguments as shown in the usage line, e.g. `FILE...`. */
  readonly positionals: string
  readonly minPositionals?: number
  readonly maxPositionals?: number
  readonly flags: Readonly<Record<string, FlagSpec>>
  /** Longer explanation printed under the usage line. */
  readonly details?: string
}

export interface ParsedArgs {
  readonly positionals: ReadonlyArray<string>
  readonly flags: Readonly<Record<string, string | number | boolean | ReadonlyArray<string>>>
}

export class UsageError extends Data.TaggedError("UsageError")<{
  readonly command: string
  readonly message: string
  readonly hint?: string
}> {}

const HELP_FLAG: FlagSpec = { kind: "boolean", description: "Show this help." }

export const parse = (spec: CommandSpec, argv: ReadonlyArray<string>): ParsedArgs | UsageError => {
  const flags: Record<string, string | number | boolean | string[]> = {}
  const positionals: string[] = []
  const all: Record<string, FlagSpec> = { ...spec.flags, help: HELP_FLAG }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (!arg.startsWith("--") || arg === "-") {
      if (arg === "-h") {
        flags.help = true
        continue
      }
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf("=")
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2)
    let negated = false
    if (!(name in all) && name.startsWith("no-") && all[name.slice(3)]?.kind === "boolean") {
      name = name.slice(3)
      negated = true
    }
    const flag = all[name]
    if (flag === undefined) {
      const guess = didYouMean(name, Object.keys(all))
      return new UsageError({
        command: spec.name,
        message: `unknown flag --${name}`,
        hint: guess ? `did you mean --${guess}?` : `see rstn ${spec.name} --help`
      })
    }
    let raw: string | undefined
    if (flag.kind === "boolean") {
      if (eq >= 0) {
        const v = arg.slice(eq + 1)
        if (v !== "true" && v !== "false") {
          return new UsageError({ command: spec.name, message: `--${name} takes true or false, got '${v}'` })
        }
        flags[name] = (v === "true") !== negated
      } else {
        flags[name] = !negated
      }
      continue
    }
    if (eq >= 0) raw = arg.slice(eq + 1)
    else if (i + 1 < argv.length) raw = argv[++i]
    if (raw === undefined) {
      return new UsageError({
        command: spec.name,
        message: `--${name} needs a value${flag.placeholder ? ` (${flag.placeholder})` : ""}`
      })
    }
    let value: string | number = raw
    if (flag.kind === "number") {
      value = Number(raw)
      if (!Number.isFinite(value)) {
        return new UsageError({ command: spec.name, message: `--${name} takes a number, got '${raw}'` })
      }
    }
    if (flag.multiple) {
      const list = (flags[name] as string[] | undefined) ?? []
      list.push(String(value))
      flags[name] = list
    } else {
      flags[name] = value
    }
  }
  if (flags.help) return { positionals, flags }
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (!(name in flags) && flag.default !== undefined) flags[name] = flag.default
    if (!(name in flags) && flag.multiple) flags[name] = []
  }
  const min = spec.minPositionals ?? 0
  if (positionals.length < min) {
    return new UsageError({
      command: spec.name,
      message: `expected ${spec.positionals}`,
      hint: `usage: rstn ${spec.name} ${spec.positionals}`
    })
  }
  if (spec.maxPositionals !== undefined && positionals.length > spec.maxPositionals) {
    return new UsageError({
      command: spec.name,
      message: `unexpected argument '${positionals[spec.maxPositionals]}'`,
      hint: `usage: rstn ${spec.name} ${spec.positionals}`
    })
  }
  return { positionals, flags }
}

export const help = (spec: CommandSpec): string => {
  const lines = [`usage: rstn ${spec.name} ${spec.positionals}${Object.keys(spec.flags).length ? " [flags]" : ""}`.trimEnd(), "", spec.summary]
  if (spec.details) lines.push("", spec.details)
  const entries = Object.entries({ ...spec.flags, help: HELP_FLAG })
  lines.push("", "flags:")
  const heads = entries.map(([n, f]) => `  --${n}${f.kind === "boolean" ? "" : ` ${f.placeholder ?? f.kind.toUpperCase()}`}`)
  const width = Math.max(...heads.map((h) => h.length)) + 2
  entries.forEach(([, f], i) => {
    const extra = [f.multiple ? "repeatable" : "", f.default !== undefined ? `default ${String(f.default)}` : ""]
      .filter(Boolean)
      .join(", ")
    lines.push(`${heads[i]!.padEnd(width)}${f.description}${extra ? ` (${extra})` : ""}`)
  })
  return lines.join("\n")
}

export const stringFlag = (args: ParsedArgs, name: string): string | undefined => {
  const v = args.flags[name]
  return typeof v === "string" ? v : undefined
}
export const numberFlag = (args: ParsedArgs, name: string): number | undefined => {
  const v = args.flags[name]
  return typeof v === "number" ? v : undefined
}
export const booleanFlag = (args: ParsedArgs, name: string): boolean => args.flags[name] === true
export const listFlag = (args: ParsedArgs, name: string): ReadonlyArray<string> => {
  const v = args.flags[name]
  return Array.isArray(v) ? v : []
}
