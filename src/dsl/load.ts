/**
 * Loading a pipeline: read the file and its `extends` chain, merge, apply `set:` blocks and
 * `--set` flags, decode with the schema, run the cross-field checks, resolve shorthands and
 * paths. Every problem from every step is collected into one `PipelineError`; a step that
 * cannot run (a syntax error makes the tree unusable) stops only what depends on it.
 *
 * Reading files is the one I/O the DSL does; `resolvePipelineText` runs the same steps over
 * in-memory texts (tests, editors).
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as path from "node:path"
import { checkPipeline } from "./checks.ts"
import { type Diagnostic, diagnostic, type Origin, PipelineError, sortDiagnostics } from "./diagnostic.ts"
import { issueDiagnostics } from "./issues.ts"
import { merge } from "./merge.ts"
import { parsePath, parseSetFlag, setPath } from "./overrides.ts"
import { Pipeline } from "./pipeline.ts"
import { resolveValues } from "./resolve.ts"
import { MAX_BYTES, parseSource } from "./source.ts"
import { at, describeNode, entry, locate, type MapNode, type Path, toPlain, without } from "./tree.ts"

/** A fully resolved pipeline and where each of its values came from. */
export interface ResolvedPipeline {
  /** Decoded, defaults filled, `weights: last` and `{name}` resolved, paths absolute. */
  readonly pipeline: Pipeline
  /** The file asked for, as given. */
  readonly file: string
  /** The file and the files it extends, most derived first, as displayed in diagnostics. */
  readonly files: ReadonlyArray<string>
  /** The `--set` flags applied, in order. */
  readonly overrides: ReadonlyArray<string>
  /**
   * Where the value at a YAML (kebab-case) path was written — a file position or a `--set`
   * flag — or undefined when it is a default. For errors the runtime finds later (a dataset
   * directory that does not exist), so they can point at the line that named it.
   */
  readonly origin: (path: Path) => Origin | undefined
}

export interface ReadFailure {
  readonly reason: string
  /** Set when the file exceeds the size limit (it was not read). */
  readonly bytes?: number
}
/** Reads a whole file by absolute path. */
export type ReadText = (absolutePath: string) => Effect.Effect<string, ReadFailure>

/** Files deeper than this in an `extends` chain are refused (a chain this long is a mistake). */
export const MAX_EXTENDS_DEPTH = 16
/** Top-level keys that belong to the file, not the pipeline. */
const FILE_KEYS = ["extends", "set"] as const

const decodeOptions = { errors: "all", onExcessProperty: "error" } as const
const decode = Schema.decodeUnknownEither(Pipeline)

const placeKey = (o: Origin): string => `${o.file}\0${o.line}\0${o.col}`

/** The common core: `read` supplies the files. */
export const resolvePipeline = (
  file: string,
  overrides: ReadonlyArray<string>,
  read: ReadText,
  cwd: string = process.cwd()
): Effect.Effect<ResolvedPipeline, PipelineError> =>
  Effect.gen(function* () {
    const diagnostics: Diagnostic[] = []
    /** Places already reported by parsing; later steps do not pile more messages on them. */
    const poisoned = new Set<string>()
    const dirs = new Map<string, string>()
    const files: string[] = []

    let mainExtendsAt: Origin | undefined
    interface Link {
      readonly display: string
      readonly absolute: string
    }
    const loadFile = (display: string, absolute: string, chain: ReadonlyArray<Link>, referencedAt: Origin | undefined): Effect.Effect<MapNode | undefined> =>
      Effect.gen(function* () {
        const text = yield* Effect.either(read(absolute))
        if (Either.isLeft(text)) {
          const where = referencedAt ?? { file: display, line: 1, col: 1 }
          const failure = text.left
          diagnostics.push(
            failure.bytes !== undefined
              ? diagnostic(where, "too-large", `${referencedAt === undefined ? "the file" : display} is ${failure.bytes} bytes; the limit is ${MAX_BYTES} (1 MiB)`, "a pipeline file is a few hundred lines; is this the right file?")
              : diagnostic(where, "read-failed", `cannot read ${display}: ${failure.reason}`)
          )
          return undefined
        }
        const parsed = parseSource(display, text.right)
        for (const d of parsed.diagnostics) {
          diagnostics.push(d)
          poisoned.add(placeKey(d))
        }
        files.push(display)
        dirs.set(display, path.dirname(absolute))
        const tree = parsed.tree
        if (tree === undefined) return undefined
        let merged: MapNode = without(tree, ...FILE_KEYS)

        const ext = entry(tree, "extends")
        if (ext !== undefined) {
          const v = ext.value
          if (v.kind !== "scalar" || typeof v.value !== "string" || v.value === "") {
            diagnostics.push(diagnostic(v.origin, "extends-invalid", `extends: expected the path of a pipeline file, got ${describeNode(v)}`, "e.g. extends: ./rstn-best.yaml"))
            return undefined
          }
          const baseAbsolute = path.resolve(path.dirname(absolute), v.value)
          const baseDisplay = path.isAbsolute(v.value) ? v.value : path.normalize(path.join(path.dirname(display), v.value))
          if (chain.length === 0) mainExtendsAt = ext.keyOrigin
          const links = [...chain, { display, absolute }]
          const seen = links.findIndex((l) => l.absolute === baseAbsolute)
          if (seen >= 0 || links.length >= MAX_EXTENDS_DEPTH) {
            diagnostics.push(
              seen >= 0
                ? diagnostic(v.origin, "extends-cycle", `extends cycle: ${[...links.slice(seen).map((l) => l.display), baseDisplay].join(" -> ")}`, "a pipeline cannot extend itself, directly or through others")
                : diagnostic(v.origin, "extends-invalid", `extends chain longer than ${MAX_EXTENDS_DEPTH} files`)
            )
            return undefined
          }
          const base = yield* loadFile(baseDisplay, baseAbsolute, links, v.origin)
          if (base === undefined) return undefined
          merged = merge(base, merged) as MapNode
        }

        const set = entry(tree, "set")
        if (set !== undefined) {
          if (set.value.kind !== "map") {
            diagnostics.push(diagnostic(set.value.origin, "override-invalid", `set: expected a mapping of path: value, got ${describeNode(set.value)}`, "e.g. set: { test.stages[2].converge-until.threshold: 0.95 }"))
          } else {
            for (const e of set.value.entries) {
              const p = parsePath(e.key)
              if (Either.isLeft(p)) {
                diagnostics.push(diagnostic(e.keyOrigin, "override-invalid", `set: ${p.left.message}`))
                continue
              }
              const r = setPath(merged, p.right.path, e.value, () => e.keyOrigin)
              if (Either.isLeft(r)) diagnostics.push(diagnostic(e.keyOrigin, "override-invalid", `set: cannot set ${e.key}: ${r.left}`))
              else merged = r.right
            }
          }
        }
        return merged
      })

    const absolute = path.resolve(cwd, file)
    let root = yield* loadFile(file, absolute, [], undefined)

    for (const flag of overrides) {
      const o = parseSetFlag(flag)
      if (Either.isLeft(o)) {
        diagnostics.push(o.left)
        continue
      }
      if (root === undefined) continue
      const r = setPath(root, o.right.path, o.right.value, o.right.at)
      if (Either.isLeft(r)) diagnostics.push(diagnostic(o.right.at(0), "override-invalid", `cannot set ${flag.slice(0, flag.indexOf("="))}: ${r.left}`))
      else root = r.right
    }

    const fail = () => new PipelineError({ file, diagnostics: sortDiagnostics(diagnostics) })
    if (root === undefined) return yield* Effect.fail(fail())
    const tree = root

    const later: Diagnostic[] = []
    const decoded = decode(toPlain(tree), decodeOptions)
    const locateIn = (p: Path, options?: { readonly key?: boolean }) => locate(tree, p, options)
    if (Either.isLeft(decoded)) {
      later.push(...issueDiagnostics(decoded.left.issue, { root: tree, extraRootKeys: FILE_KEYS }))
    } else {
      later.push(...checkPipeline(decoded.right, { locate: locateIn, written: (p) => at(tree, p) !== undefined }))
      const name = entry(tree, "name")
      if (mainExtendsAt !== undefined && name !== undefined && decoded.right.run.dir.includes("{name}")) {
        const from = name.value.origin.file
        if (from !== file && !from.startsWith("--set ")) {
          later.push(
            diagnostic(
              mainExtendsAt,
              "inconsistent",
              `name: '${decoded.right.name}' is inherited from ${from}; a variant needs its own name, or its runs would share runs/${decoded.right.name}`,
              "add name: ... to this file (or set run.dir)"
            )
          )
        }
      }
    }
    for (const d of later) if (!poisoned.has(placeKey(d))) diagnostics.push(d)
    if (diagnostics.length > 0 || Either.isLeft(decoded)) return yield* Effect.fail(fail())

    const originOf = (p: Path): Origin | undefined => at(tree, p)?.origin
    const dirOf = (p: Path): string => {
      const o = originOf(p)
      return o === undefined ? cwd : (dirs.get(o.file) ?? cwd)
    }
    return {
      pipeline: resolveValues(decoded.right, { dirOf, cwd, written: (p) => originOf(p) !== undefined }),
      file,
      files,
      overrides,
      origin: originOf
    } satisfies ResolvedPipeline
  })

const reasonOf = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code
  return code === "ENOENT"
    ? "no such file"
    : code === "EACCES" || code === "EPERM"
      ? "permission denied"
      : code === "EISDIR"
        ? "it is a directory"
        : String((e as Error).message ?? e)
}

/** Reads with node:fs, refusing files over the size limit before reading them. */
export const readFileText: ReadText = (file) =>
  Effect.tryPromise({
    try: async () => {
      const st = await fs.promises.stat(file)
      if (st.isDirectory()) throw Object.assign(new Error("directory"), { code: "EISDIR" })
      if (st.size > MAX_BYTES) return { text: undefined, bytes: st.size }
      return { text: await fs.promises.readFile(file, "utf8"), bytes: st.size }
    },
    catch: (e): ReadFailure => ({ reason: reasonOf(e) })
  }).pipe(Effect.flatMap((r) => (r.text !== undefined ? Effect.succeed(r.text) : Effect.fail<ReadFailure>({ reason: "too large", bytes: r.bytes }))))

/** Loads a pipeline file (and the files it extends) and applies `--set` overrides. */
export const loadPipeline = (file: string, overrides: ReadonlyArray<string>): Effect.Effect<ResolvedPipeline, PipelineError> =>
  resolvePipeline(file, overrides, readFileText)

export interface TextInput {
  /** The file name used in diagnostics (and for resolving relative `extends` and paths). */
  readonly file: string
  readonly text: string
  readonly overrides?: ReadonlyArray<string>
  /** Other files by path (relative to `cwd` or absolute), for `extends`. */
  readonly files?: Readonly<Record<string, string>>
  readonly cwd?: string
}

/** The same steps as `loadPipeline` over in-memory texts; no I/O. */
export const resolvePipelineText = (input: TextInput): Either.Either<ResolvedPipeline, PipelineError> => {
  const cwd = input.cwd ?? process.cwd()
  const texts = new Map<string, string>([[path.resolve(cwd, input.file), input.text]])
  for (const [name, text] of Object.entries(input.files ?? {})) texts.set(path.resolve(cwd, name), text)
  const read: ReadText = (absolute) => {
    const text = texts.get(absolute)
    return text === undefined ? Effect.fail({ reason: "no such file" }) : Effect.succeed(text)
  }
  return Effect.runSync(Effect.either(resolvePipeline(input.file, input.overrides ?? [], read, cwd)))
}

/** For callers that only need a yes/no and the problems (e.g. editors). */
export const pipelineProblems = (input: TextInput): ReadonlyArray<Diagnostic> =>
  Either.match(resolvePipelineText(input), { onLeft: (e) => e.diagnostics, onRight: () => [] })
