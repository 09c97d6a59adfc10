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
import { checkPipeline, type Section } from "./checks.ts"
import { type Diagnostic, diagnostic, type Origin, PipelineError, sortDiagnostics } from "./diagnostic.ts"
import { issueDiagnostics } from "./issues.ts"
import { merge } from "./merge.ts"
import { parsePath, parseSetFlag, setPath } from "./overrides.ts"
import { checkPaths } from "./path-checks.ts"
import { Pipeline } from "./pipeline.ts"
import { resolveValues } from "./resolve.ts"
import { MAX_BYTES, parseSource } from "./source.ts"
import { type Assignment, parseSweep, type SweepSpec } from "./sweep.ts"
import { at, describeNode, entry, formatPath, locate, type MapNode, type Path, toPlain, without } from "./tree.ts"

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
  /** The file's `sweep:` section (sweep.ts): the file stands for several runs. */
  readonly sweep?: SweepSpec
}

export interface ResolveOptions {
  /** One run of the file's sweep: its overrides, applied after `set:` and before `--set` flags. */
  readonly point?: ReadonlyArray<Assignment>
}

export interface ReadFailure {
  readonly code: "read-failed" | "too-large" | "not-text"
  readonly reason: string
  /** Set when the file exceeds the size limit (it was not read). */
  readonly bytes?: number
}
/** Reads a whole file by absolute path. */
export type ReadText = (absolutePath: string) => Effect.Effect<string, ReadFailure>

/** Files deeper than this in an `extends` chain are refused (a chain this long is a mistake). */
export const MAX_EXTENDS_DEPTH = 16
/** Top-level keys that belong to the file, not the pipeline. */
const FILE_KEYS = ["extends", "set", "sweep"] as const

/** Why a path override may not write a file key: both say how a file is put together. */
const fileKeyOverride = (path: Path, via: "--set" | "set:"): { readonly message: string; readonly hint: string } | undefined => {
  const how = via === "--set" ? "with --set" : "in a set: block"
  if (path[0] === "extends") {
    return {
      message: `extends cannot be changed ${how}: it names the file a variant starts from`,
      hint: via === "--set" ? "write extends: in a variant file, or validate the base file itself" : "write extends: at the top of the file"
    }
  }
  if (path[0] === "set") {
    return { message: `set cannot be changed ${how}: it is a file's block of overrides`, hint: "write the path itself, e.g. --set training.batch-size=4" }
  }
  if (path[0] === "sweep") {
    return { message: `sweep cannot be changed ${how}: it says which runs a file stands for`, hint: "rstn sweep FILE --grid PATH=[a,b] adds a grid axis" }
  }
  return undefined
}

const decodeOptions = { errors: "all", onExcessProperty: "error" } as const
const decode = Schema.decodeUnknownEither(Pipeline)

/** One decoder per top-level section, for a pipeline that does not decode as a whole (built on first need). */
let sectionDecoders: ReadonlyArray<{ readonly key: Section; readonly decode: (u: unknown, o?: { onExcessProperty: "ignore" }) => Either.Either<Record<string, unknown>, unknown> }> | undefined
const decodersOfSections = () =>
  (sectionDecoders ??= Object.entries(Pipeline.fields).map(([key, field]) => ({
    key: key as Section,
    decode: Schema.decodeUnknownEither(Schema.Struct({ [key]: field }) as unknown as Schema.Schema<Record<string, unknown>, unknown>)
  })))

/**
 * The sections of a pipeline that decode on their own, the others at their defaults (or absent
 * when they have none), so the cross-field checks of the sections that are right still run.
 */
const decodeSections = (plain: unknown): { readonly pipeline: Pipeline; readonly decoded: ReadonlySet<Section> } => {
  const decoded = new Set<Section>()
  const value: Record<string, unknown> = {}
  for (const { key, decode } of decodersOfSections()) {
    const own = decode(plain, { onExcessProperty: "ignore" })
    if (Either.isRight(own)) decoded.add(key)
    const result = Either.isRight(own) ? own : decode({})
    if (Either.isRight(result)) value[key] = (result.right as Record<string, unknown>)[key]
  }
  return { pipeline: value as unknown as Pipeline, decoded }
}

const placeKey = (o: Origin): string => `${o.file}\0${o.line}\0${o.col}`

/**
 * Problems reported per pipeline: enough to fix a file in a few rounds, few enough to read. A
 * file with tens of thousands (a data file given by mistake) gets these and a count of the rest.
 */
export const MAX_DIAGNOSTICS = 100

const firstProblems = (file: string, ds: ReadonlyArray<Diagnostic>): ReadonlyArray<Diagnostic> =>
  ds.length <= MAX_DIAGNOSTICS
    ? ds
    : [
        ...ds.slice(0, MAX_DIAGNOSTICS),
        diagnostic(
          ds[MAX_DIAGNOSTICS]!,
          "more-problems",
          `and ${ds.length - MAX_DIAGNOSTICS} more problems in ${file} and the files it extends`,
          "fix the first ones; is this the right file?"
        )
      ]

/** The common core: `read` supplies the files. */
export const resolvePipeline = (
  file: string,
  overrides: ReadonlyArray<string>,
  read: ReadText,
  cwd: string = process.cwd(),
  options: ResolveOptions = {}
): Effect.Effect<ResolvedPipeline, PipelineError> =>
  Effect.gen(function* () {
    const diagnostics: Diagnostic[] = []
    let sweep: SweepSpec | undefined
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
          const subject = referencedAt === undefined ? "the file" : display
          diagnostics.push(
            failure.code === "too-large"
              ? diagnostic(where, "too-large", `${subject} is ${failure.bytes ?? "over"} bytes; the limit is ${MAX_BYTES} (1 MiB)`, "a pipeline file is a few hundred lines; is this the right file?")
              : failure.code === "not-text"
                ? diagnostic(where, "not-text", `${subject} is not a text file: ${failure.reason}`, "a pipeline is a YAML text file; is this the right file?")
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
        const sweepEntry = entry(tree, "sweep")
        if (sweepEntry !== undefined && chain.length > 0) {
          diagnostics.push(diagnostic(sweepEntry.keyOrigin, "sweep-invalid", "sweep: a file that others extend cannot sweep; the sweep belongs in the file given to rstn sweep", `move it to the file that extends ${display}`))
        } else if (sweepEntry !== undefined) {
          const parsed = parseSweep(sweepEntry.value)
          diagnostics.push(...parsed.diagnostics)
          sweep = parsed.spec
        }

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
              const fileKey = fileKeyOverride(p.right.path, "set:")
              if (fileKey !== undefined) {
                diagnostics.push(diagnostic(e.keyOrigin, "override-invalid", `set: ${fileKey.message}`, fileKey.hint))
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
    for (const a of options.point ?? []) {
      if (root === undefined) break
      const r = setPath(root, a.path, a.value, () => a.at)
      if (Either.isLeft(r)) diagnostics.push(diagnostic(a.at, "sweep-invalid", `sweep: cannot set ${formatPath(a.path)}: ${r.left}`))
      else root = r.right
    }

    for (const flag of overrides) {
      const o = parseSetFlag(flag)
      if (Either.isLeft(o)) {
        diagnostics.push(o.left)
        continue
      }
      const fileKey = fileKeyOverride(o.right.path, "--set")
      if (fileKey !== undefined) {
        diagnostics.push(diagnostic(o.right.at(0), "override-invalid", fileKey.message, fileKey.hint))
        continue
      }
      if (root === undefined) continue
      const r = setPath(root, o.right.path, o.right.value, o.right.at)
      if (Either.isLeft(r)) diagnostics.push(diagnostic(o.right.at(0), "override-invalid", `cannot set ${flag.slice(0, flag.indexOf("="))}: ${r.left}`))
      else root = r.right
    }

    const fail = () => new PipelineError({ file, diagnostics: firstProblems(file, sortDiagnostics(diagnostics)) })
    if (root === undefined) return yield* Effect.fail(fail())
    const tree = root

    let later: Diagnostic[] = []
    const decoded = decode(toPlain(tree), decodeOptions)
    const locator = { locate: (p: Path, options?: { readonly key?: boolean }) => locate(tree, p, options), written: (p: Path) => at(tree, p) !== undefined }
    const checked = Either.isRight(decoded) ? { pipeline: decoded.right, decoded: undefined } : decodeSections(toPlain(tree))
    // concat, not push(...): a hostile file can have 100,000 problems, too many arguments for a call.
    if (Either.isLeft(decoded)) later = later.concat(issueDiagnostics(decoded.left.issue, { root: tree, extraRootKeys: FILE_KEYS }))
    later = later.concat(checkPipeline(checked.pipeline, locator, checked.decoded))
    const reads = (...sections: ReadonlyArray<Section>) => checked.decoded === undefined || sections.every((s) => checked.decoded.has(s))
    const name = entry(tree, "name")
    if (reads("name", "run") && mainExtendsAt !== undefined && name !== undefined && checked.pipeline.run.dir.includes("{name}")) {
      const from = name.value.origin.file
      if (from !== file && !from.startsWith("--set ")) {
        later.push(
          diagnostic(
            mainExtendsAt,
            "inconsistent",
            `name: '${checked.pipeline.name}' is inherited from ${from}; a variant needs its own name, or its runs would share runs/${checked.pipeline.name}`,
            "add name: ... to this file (or set run.dir)"
          )
        )
      }
    }
    const originOf = (p: Path): Origin | undefined => at(tree, p)?.origin
    const dirOf = (p: Path): string => {
      const o = originOf(p)
      return o === undefined ? cwd : (dirs.get(o.file) ?? cwd)
    }
    const resolve = (p: Pipeline) => resolveValues(p, { dirOf, cwd, written: (path) => originOf(path) !== undefined })
    if (reads("name", "dataset", "run")) later = later.concat(checkPaths(resolve(checked.pipeline), locator))
    for (const d of later) if (!poisoned.has(placeKey(d))) diagnostics.push(d)
    if (diagnostics.length > 0 || Either.isLeft(decoded)) return yield* Effect.fail(fail())

    return {
      pipeline: resolve(decoded.right),
      file,
      files,
      overrides,
      origin: originOf,
      ...(sweep !== undefined ? { sweep } : {})
    } satisfies ResolvedPipeline
  })

const reasonOf = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code
  return code === "ENOENT"
    ? "no such file"
    : code === "EACCES" || code === "EPERM"
      ? "permission denied"
      : code === "ELOOP"
        ? "too many levels of symbolic links"
        : String((e as Error).message ?? e)
}

/** What a path is when it is not a regular file, for "cannot read X: it is ...". */
const notRegular = (st: fs.Stats): string =>
  st.isDirectory()
    ? "it is a directory"
    : st.isFIFO()
      ? "it is a named pipe (FIFO), not a regular file"
      : st.isCharacterDevice() || st.isBlockDevice()
        ? "it is a device, not a regular file"
        : st.isSocket()
          ? "it is a socket, not a regular file"
          : "it is not a regular file"

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Reads a pipeline file with node:fs, refusing what is not one before reading it: anything but a
 * regular file (a named pipe would block forever, /dev/zero never ends), files over the size
 * limit, and bytes that are not UTF-8 text.
 */
export const readFileText: ReadText = (file) =>
  Effect.tryPromise({
    try: async (): Promise<string | ReadFailure> => {
      // O_NONBLOCK: opening a named pipe for reading otherwise waits for a writer; with it the
      // open returns at once, and fstat on the descriptor (not the path, which could be swapped
      // meanwhile) says what was opened.
      const handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
      try {
        const st = await handle.stat()
        if (!st.isFile()) return { code: "read-failed", reason: notRegular(st) }
        if (st.size > MAX_BYTES) return { code: "too-large", reason: "too large", bytes: st.size }
        // One byte more than the limit: a file that grows while it is read is still refused.
        const buffer = Buffer.alloc(MAX_BYTES + 1)
        let length = 0
        for (;;) {
          const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length)
          if (bytesRead === 0) break
          length += bytesRead
          if (length === buffer.length) return { code: "too-large", reason: "too large", bytes: length }
        }
        try {
          return utf8.decode(buffer.subarray(0, length))
        } catch {
          return { code: "not-text", reason: "its bytes are not UTF-8" }
        }
      } finally {
        await handle.close()
      }
    },
    catch: (e): ReadFailure => ({ code: "read-failed", reason: reasonOf(e) })
  }).pipe(Effect.flatMap((r) => (typeof r === "string" ? Effect.succeed(r) : Effect.fail(r))))

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
    return text === undefined ? Effect.fail({ code: "read-failed", reason: "no such file" }) : Effect.succeed(text)
  }
  return Effect.runSync(Effect.either(resolvePipeline(input.file, input.overrides ?? [], read, cwd)))
}

/** For callers that only need a yes/no and the problems (e.g. editors). */
export const pipelineProblems = (input: TextInput): ReadonlyArray<Diagnostic> =>
  Either.match(resolvePipelineText(input), { onLeft: (e) => e.diagnostics, onRight: () => [] })
