/**
 * Sweeps: one pipeline file that stands for several runs. A `sweep:` section (or `rstn sweep
 * --grid PATH=[a,b]`) lists named variants, each a set of path overrides, and grid axes, each a
 * path and its values; the runs are every variant (or the file alone) times every combination
 * of the grid's values. Each run is the file with its overrides applied like `set:` entries
 * (after `set:`, before `--set` flags), named `<name>-<variant>-<axis>-<value>...`, in the run
 * directory of the same name beside the file's own, so its values keep their places in the file
 * and a wrong one is reported at its line in the sweep.
 *
 *   sweep:
 *     variants:
 *       kernel-1x1: { saliency.layers: [{ kernel: 1 }] }
 *       two-layer: { saliency.layers: [...] }
 *     grid:
 *       test.stages[2].converge-until.threshold: [0.95, 0.99]
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import { type Diagnostic, diagnostic, type Origin } from "./diagnostic.ts"
import { didYouMean } from "./did-you-mean.ts"
import { parseOverrideFlag, parsePath } from "./overrides.ts"
import { describeNode, formatPath, type MapNode, type Node, type Path } from "./tree.ts"

/** One override of a run of the sweep: a path and the located value it takes. */
export interface Assignment {
  readonly path: Path
  readonly value: Node
  readonly at: Origin
}

export interface SweepVariant {
  readonly name: string
  readonly assignments: ReadonlyArray<Assignment>
}

export interface SweepAxis {
  readonly path: Path
  readonly values: ReadonlyArray<Node>
  readonly at: Origin
}

export interface SweepSpec {
  readonly variants: ReadonlyArray<SweepVariant>
  readonly grid: ReadonlyArray<SweepAxis>
}

/** One run of a sweep: its name's suffix and its overrides. */
export interface SweepPoint {
  readonly slug: string
  readonly assignments: ReadonlyArray<Assignment>
  /** The values it sets, as `path=value` (for the run's record and the plan). */
  readonly describe: ReadonlyArray<string>
}

/** More runs than this in one sweep is a mistake (a grid of long lists). */
export const MAX_RUNS = 256

/** `rstn run` on a sweep file: it stands for several runs. */
export class SweepFileError extends Data.TaggedError("SweepFileError")<{
  readonly file: string
  readonly runs: number
  readonly hint: string
}> {
  override get message(): string {
    return `${this.file} is a sweep of ${this.runs} run${this.runs === 1 ? "" : "s"}, not one pipeline`
  }
}

const SWEEP_KEYS = ["variants", "grid"]
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
/** What a sweep may not vary: its runs' names and directories are made from the sweep, and file keys say how a file is put together. */
const FIXED = new Set(["name", "extends", "set", "sweep"])

const checkPath = (text: string, at: Origin, out: Diagnostic[]): Path | undefined => {
  const p = parsePath(text)
  if (Either.isLeft(p)) {
    out.push(diagnostic(at, "sweep-invalid", `sweep: ${p.left.message}`))
    return undefined
  }
  const path = p.right.path
  if (FIXED.has(String(path[0])) || (path[0] === "run" && path[1] === "dir")) {
    out.push(diagnostic(at, "sweep-invalid", `sweep: ${text} cannot vary`, "each run's name and run directory are the file's with the run's values appended"))
    return undefined
  }
  return path
}

const axisOf = (path: Path, value: Node, at: Origin, out: Diagnostic[]): SweepAxis | undefined => {
  if (value.kind !== "seq" || value.items.length === 0) {
    out.push(diagnostic(value.origin, "sweep-invalid", `sweep: grid ${formatPath(path)}: expected a non-empty list of values, got ${describeNode(value)}`, `e.g. ${formatPath(path)}: [0.95, 0.99]`))
    return undefined
  }
  const seen = new Set<string>()
  for (const item of value.items) {
    const text = JSON.stringify(plainOf(item))
    if (seen.has(text)) {
      out.push(diagnostic(item.origin, "sweep-invalid", `sweep: grid ${formatPath(path)} lists ${text} twice`, "each value is one run"))
      return undefined
    }
    seen.add(text)
  }
  return { path, values: value.items, at }
}

const plainOf = (n: Node): unknown =>
  n.kind === "scalar" ? n.value : n.kind === "seq" ? n.items.map(plainOf) : Object.fromEntries(n.entries.map((e) => [e.key, plainOf(e.value)]))

/** The sweep section of a file, checked; diagnostics for what is wrong with it. */
export const parseSweep = (node: Node): { readonly spec: SweepSpec | undefined; readonly diagnostics: ReadonlyArray<Diagnostic> } => {
  const out: Diagnostic[] = []
  if (node.kind !== "map") {
    out.push(diagnostic(node.origin, "sweep-invalid", `sweep: expected a mapping with variants and/or grid, got ${describeNode(node)}`, "e.g. sweep: { grid: { test.stages[2].converge-until.threshold: [0.95, 0.99] } }"))
    return { spec: undefined, diagnostics: out }
  }
  const variants: SweepVariant[] = []
  const grid: SweepAxis[] = []
  for (const e of node.entries) {
    if (!SWEEP_KEYS.includes(e.key)) {
      const guess = didYouMean(e.key, SWEEP_KEYS)
      out.push(diagnostic(e.keyOrigin, "sweep-invalid", `sweep: unknown key '${e.key}'`, guess ? `did you mean '${guess}'?` : `known keys: ${SWEEP_KEYS.join(", ")}`))
      continue
    }
    if (e.value.kind !== "map") {
      out.push(diagnostic(e.value.origin, "sweep-invalid", `sweep: ${e.key}: expected a mapping, got ${describeNode(e.value)}`, e.key === "grid" ? "PATH: [values...]" : "NAME: { PATH: value, ... }"))
      continue
    }
    if (e.key === "grid") {
      for (const axis of e.value.entries) {
        const path = checkPath(axis.key, axis.keyOrigin, out)
        const a = path === undefined ? undefined : axisOf(path, axis.value, axis.keyOrigin, out)
        if (a !== undefined) grid.push(a)
      }
      continue
    }
    for (const v of e.value.entries) {
      if (!NAME.test(v.key)) {
        out.push(diagnostic(v.keyOrigin, "sweep-invalid", `sweep: variant name '${v.key}' is not a name`, "letters, digits, '.', '_', '-': it becomes part of a run directory's name"))
        continue
      }
      if (v.value.kind !== "map" || v.value.entries.length === 0) {
        out.push(diagnostic(v.value.origin, "sweep-invalid", `sweep: variant ${v.key}: expected a mapping of PATH: value, got ${describeNode(v.value)}`, "e.g. kernel-1x1: { saliency.layers[0].kernel: 1 }"))
        continue
      }
      const assignments: Assignment[] = []
      for (const a of (v.value as MapNode).entries) {
        const path = checkPath(a.key, a.keyOrigin, out)
        if (path !== undefined) assignments.push({ path, value: a.value, at: a.keyOrigin })
      }
      variants.push({ name: v.key, assignments })
    }
  }
  if (out.length === 0 && variants.length === 0 && grid.length === 0) {
    out.push(diagnostic(node.origin, "sweep-invalid", "sweep: no variants and no grid: it describes no runs", "add variants: or grid:"))
  }
  return { spec: out.length === 0 ? { variants, grid } : undefined, diagnostics: out }
}

/** `--grid PATH=[a,b]`: one more axis; its problems name the flag. */
export const parseGridFlag = (flag: string): Either.Either<SweepAxis, Diagnostic> =>
  Either.flatMap(parseOverrideFlag(flag, "--grid"), (o) => {
    const out: Diagnostic[] = []
    const path = checkPath(formatPath(o.path), o.at(0), out)
    const axis = path === undefined ? undefined : axisOf(path, o.value, o.at(0), out)
    return axis === undefined ? Either.left(out[0]!) : Either.right(axis)
  })

/** A value as part of a run's name: scalars as written (other characters as '_'), lists and mappings by position. */
const valueSlug = (v: Node, i: number): string =>
  v.kind === "scalar" && v.value !== null ? String(v.value).replace(/[^A-Za-z0-9._-]/g, "_") : `v${i + 1}`

const lastKey = (path: Path): string => String([...path].reverse().find((s) => typeof s === "string") ?? "value")

/** Every run of the sweep, variants first, then the grid's combinations in the order written. */
export const expandSweep = (spec: SweepSpec): ReadonlyArray<SweepPoint> => {
  // An axis is named by its last key unless another axis ends with the same key.
  const keys = spec.grid.map((a) => lastKey(a.path))
  const axisName = (a: SweepAxis, i: number) =>
    keys.filter((k) => k === keys[i]).length > 1 ? formatPath(a.path).replace(/[^A-Za-z0-9._-]+/g, "_") : keys[i]!
  let points: SweepPoint[] =
    spec.variants.length === 0
      ? [{ slug: "", assignments: [], describe: [] }]
      : spec.variants.map((v) => ({
          slug: v.name,
          assignments: v.assignments,
          describe: v.assignments.map((a) => `${formatPath(a.path)}=${JSON.stringify(plainOf(a.value))}`)
        }))
  spec.grid.forEach((axis, i) => {
    points = points.flatMap((p) =>
      axis.values.map((value, j) => ({
        slug: [p.slug, `${axisName(axis, i)}-${valueSlug(value, j)}`].filter(Boolean).join("-"),
        // A path that cannot be set is the axis's problem: reported at its key, once.
        assignments: [...p.assignments, { path: axis.path, value, at: axis.at }],
        describe: [...p.describe, `${formatPath(axis.path)}=${JSON.stringify(plainOf(value))}`]
      }))
    )
  })
  return points
}
