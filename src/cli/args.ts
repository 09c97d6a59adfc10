/**
 * Command-line flags: each command declares its flags once (`specs.ts`); the same declaration
 * parses argv, rejects unknown flags and values with a did-you-mean, and renders
 * `rstn COMMAND --help`.
 */
import * as Data from "effect/Data"
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
  /** The only values a string flag takes; others are usage errors with a did-you-mean. */
  readonly choices?: ReadonlyArray<string>
  /** A number flag's values must be integers (counts, seeds). */
  readonly integer?: boolean
  /** A one-letter alias, e.g. `o` for `-o DIR`. */
  readonly short?: string
  /**
   * A `multiple` string flag that also takes the arguments after its value, up to the next flag
   * (`-i a.nii b.nii`): what a shell's glob expands to.
   */
  readonly greedy?: boolean
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

/** A command line the command cannot run with: exit code 2. */
export class UsageError extends Data.TaggedError("UsageError")<{
  readonly command: string
  readonly message: string
  readonly hint?: string
}> {}

const HELP_FLAG: FlagSpec = { kind: "boolean", description: "Show this help." }

/**
 * The declared flags by name. A Map, not an object: `--constructor` or `--toString` would find
 * Object.prototype's members in a plain object and be taken for flags.
 */
const flagTable = (spec: CommandSpec): ReadonlyMap<string, FlagSpec> => new Map([...Object.entries(spec.flags), ["help", HELP_FLAG]])

export const parse = (spec: CommandSpec, argv: ReadonlyArray<string>): ParsedArgs | UsageError => {
  const flags = new Map<string, string | number | boolean | string[]>()
  const positionals: string[] = []
  const all = flagTable(spec)
  const usage = (message: string, hint?: string) => new UsageError({ command: spec.name, message, ...(hint === undefined ? {} : { hint }) })
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (arg === "-h") {
      flags.set("help", true)
      continue
    }
    const short = /^-[A-Za-z]$/.test(arg) ? [...all].find(([, f]) => f.short === arg.slice(1)) : undefined
    if (!arg.startsWith("--") && short === undefined) {
      positionals.push(arg)
      continue
    }
    const eq = short !== undefined ? -1 : arg.indexOf("=")
    let name = short !== undefined ? short[0] : eq >= 0 ? arg.slice(2, eq) : arg.slice(2)
    let negated = false
    if (!all.has(name) && name.startsWith("no-") && all.get(name.slice(3))?.kind === "boolean") {
      name = name.slice(3)
      negated = true
    }
    const flag = all.get(name)
    if (flag === undefined) {
      const guess = didYouMean(name, all.keys())
      return usage(`unknown flag --${name}`, guess ? `did you mean --${guess}?` : `see rstn ${spec.name} --help`)
    }
    if (flag.kind === "boolean") {
      if (eq >= 0) {
        const v = arg.slice(eq + 1)
        if (v !== "true" && v !== "false") return usage(`--${name} takes true or false, got '${v}'`)
        flags.set(name, (v === "true") !== negated)
      } else {
        flags.set(name, !negated)
      }
      continue
    }
    let raw: string | undefined
    if (eq >= 0) raw = arg.slice(eq + 1)
    // A value may not look like a flag: `--set --json` is a missing value, not the value "--json".
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--") && !/^-[A-Za-z]$/.test(argv[i + 1]!)) raw = argv[++i]
    if (raw === undefined) return usage(`--${name} needs a value${flag.placeholder ? ` (${flag.placeholder})` : ""}`)
    let value: string | number = raw
    if (flag.kind === "number") {
      value = raw.trim() === "" ? Number.NaN : Number(raw)
      if (!Number.isFinite(value)) return usage(`--${name} takes a number, got '${raw}'`)
      if (flag.integer === true && !Number.isSafeInteger(value)) {
        return usage(
          Number.isInteger(value) ? `--${name} ${raw} is out of range: the largest integer allowed is ${Number.MAX_SAFE_INTEGER} (2^53 - 1)` : `--${name} takes an integer, got '${raw}'`
        )
      }
    }
    if (flag.choices !== undefined && !flag.choices.includes(raw)) {
      const guess = didYouMean(raw, flag.choices)
      return usage(`--${name} must be one of ${flag.choices.join(", ")}, got '${raw}'`, guess ? `did you mean --${name} ${guess}?` : undefined)
    }
    if (flag.multiple) {
      const list = (flags.get(name) as string[] | undefined) ?? []
      list.push(String(value))
      if (flag.greedy === true) while (i + 1 < argv.length && !argv[i + 1]!.startsWith("-")) list.push(argv[++i]!)
      flags.set(name, list)
    } else {
      flags.set(name, value)
    }
  }
  const result = (): ParsedArgs => ({ positionals, flags: Object.fromEntries(flags) })
  if (flags.get("help") === true) return result()
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (!flags.has(name) && flag.default !== undefined) flags.set(name, flag.default)
    if (!flags.has(name) && flag.multiple) flags.set(name, [])
  }
  const min = spec.minPositionals ?? 0
  if (positionals.length < min) return usage(`expected ${spec.positionals}`, `usage: rstn ${spec.name} ${spec.positionals}`)
  if (spec.maxPositionals !== undefined && positionals.length > spec.maxPositionals) {
    return usage(`unexpected argument '${positionals[spec.maxPositionals]}'`, spec.maxPositionals === 0 ? `rstn ${spec.name} takes no arguments` : `usage: rstn ${spec.name} ${spec.positionals}`)
  }
  return result()
}

export const help = (spec: CommandSpec): string => {
  const lines = [`usage: rstn ${spec.name} ${spec.positionals}${Object.keys(spec.flags).length ? " [flags]" : ""}`.trimEnd(), "", spec.summary]
  if (spec.details) lines.push("", spec.details)
  const entries = [...flagTable(spec)]
  lines.push("", "flags:")
  const heads = entries.map(([n, f]) => `  ${f.short ? `-${f.short}, ` : ""}--${n}${f.kind === "boolean" ? "" : ` ${f.placeholder ?? f.kind.toUpperCase()}`}${f.greedy ? "..." : ""}`)
  const width = Math.max(...heads.map((h) => h.length)) + 2
  entries.forEach(([, f], i) => {
    const extra = [f.multiple ? "repeatable" : "", f.default !== undefined ? `default ${String(f.default)}` : ""].filter(Boolean).join(", ")
    lines.push(`${heads[i]!.padEnd(width)}${f.description}${extra ? ` (${extra})` : ""}`)
  })
  lines.push("", "exit codes: 0 ok, 1 problems found or the run failed, 2 usage error, 130 interrupted")
  return lines.join("\n")
}

// Flags are read with Object.hasOwn: a flag never given must not find Object.prototype's members.
const own = (args: ParsedArgs, name: string) => (Object.hasOwn(args.flags, name) ? args.flags[name] : undefined)

export const stringFlag = (args: ParsedArgs, name: string): string | undefined => {
  const v = own(args, name)
  return typeof v === "string" ? v : undefined
}
export const numberFlag = (args: ParsedArgs, name: string): number | undefined => {
  const v = own(args, name)
  return typeof v === "number" ? v : undefined
}
export const booleanFlag = (args: ParsedArgs, name: string): boolean => own(args, name) === true
export const listFlag = (args: ParsedArgs, name: string): ReadonlyArray<string> => {
  const v = own(args, name)
  return Array.isArray(v) ? v : []
}
