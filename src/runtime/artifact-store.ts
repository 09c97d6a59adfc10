/**
 * Where node outputs live: `<runDir>/nodes/<id>/`. Outputs made under a key go to a directory
 * named after the key (`<id>/<first 16 hex digits of the key>/`), and `<id>/node.json` says which
 * key is current. Writing the manifest (atomically) is the single moment a node becomes done,
 * so a node re-run under a new key keeps its old outputs until the new ones are complete, and a
 * crash at any point leaves either the old node or the new one, never a mix. Checkpoints and
 * failure records sit in the key's directory, so they are never used under another key.
 */
import { Context, Data, Effect, Either, Layer, Option } from "effect"
import * as os from "node:os"
import * as path from "node:path"
import * as fs from "node:fs"
import { FileSystem, type FileSystemError } from "./file-system.ts"
import { decodeManifest, encodeManifest, type FileOutput, type Manifest } from "./manifest.ts"
import type { InputArtifact, NodeKey } from "./node.ts"
import * as SharedStore from "./shared-store.ts"

export class CorruptManifestError extends Data.TaggedError("CorruptManifestError")<{
  readonly file: string
  readonly reason: string
  readonly hint: string
}> {
  override get message(): string {
    return `${this.file} is not a valid node manifest: ${this.reason}`
  }
}

export class OutputNameError extends Data.TaggedError("OutputNameError")<{
  readonly node: string
  readonly name: string
  readonly hint: string
}> {
  override get message(): string {
    return `node ${this.node}: '${this.name}' cannot name an output file`
  }
}

/** Why a finished node left no outputs: the message a user reads in `rstn status`. */
export interface FailureRecord {
  readonly key: string
  readonly message: string
  readonly at: number
}

/** Where processes that run nodes for the driver (workers, Slurm jobs) write their output, under the run directory. */
export const LOG_DIR = "logs"

export const MANIFEST = "node.json"
export const CHECKPOINT = "checkpoint.bin"
export const FAILURE = "failure.json"
/**
 * What a batch job and its driver exchange in the key directory (execution/node-job.ts,
 * execution/slurm.ts): kept while the node runs, removed when it is committed.
 */
export const JOB_FILE = "job.json"
export const JOB_REQUEST = "job-request.json"
export const JOB_EVENTS = "job-events.jsonl"
export const JOB_RESULT = "job-result.json"
export const JOB_FILES: ReadonlyArray<string> = [JOB_FILE, JOB_REQUEST, JOB_EVENTS, JOB_RESULT]
const RESERVED = new Set([MANIFEST, CHECKPOINT, FAILURE, ...JOB_FILES])
const OUTPUT_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/
const KEY_DIR = /^[0-9a-f]{16}$/
/** `atomic-write.ts` temporaries: `.<name>.<pid>.<n>.tmp`. */
const TEMP_FILE = /^\..+\.\d+\.\d+\.tmp$/

export const keyDirName = (key: string): string => key.slice(0, 16)

export const isValidOutputName = (name: string): boolean => OUTPUT_NAME.test(name) && !RESERVED.has(name)

export interface ArtifactStoreService {
  readonly runDir: string
  readonly nodeDir: (id: string) => string
  /** The directory for outputs made under `key`. */
  readonly outputDir: (id: string, key: string) => string
  readonly readManifest: (id: string) => Effect.Effect<Option.Option<Manifest>, FileSystemError | CorruptManifestError>
  /** The first file output listed in the manifest that is missing or has another size. */
  readonly missingOutput: (id: string, manifest: Manifest) => Effect.Effect<Option.Option<string>>
  readonly writeOutput: (
    id: string,
    key: string,
    name: string,
    data: Uint8Array | string
  ) => Effect.Effect<FileOutput, FileSystemError | OutputNameError>
  /**
   * Makes the node done under `manifest.key`: writes the manifest, then removes what it
   * supersedes (other keys' directories, this key's checkpoint and failure record, temporaries).
   */
  readonly commit: (manifest: Manifest) => Effect.Effect<void, FileSystemError>
  readonly saveCheckpoint: (id: string, key: string, data: Uint8Array) => Effect.Effect<void, FileSystemError>
  readonly loadCheckpoint: (id: string, key: string) => Effect.Effect<Option.Option<Uint8Array>, FileSystemError>
  readonly hasCheckpoint: (id: string, key: string) => Effect.Effect<boolean>
  readonly recordFailure: (id: string, failure: FailureRecord) => Effect.Effect<void, FileSystemError>
  readonly readFailure: (id: string, key: string) => Effect.Effect<Option.Option<FailureRecord>>
  /** Removes temporaries a killed process left in the node's directory. */
  readonly sweep: (id: string) => Effect.Effect<void>
  /**
   * Prepares a fresh attempt under `key`: empties the key's directory except its checkpoint, so
   * files an interrupted attempt wrote never outlive it (outputs are those the finishing attempt
   * writes).
   */
  readonly beginAttempt: (id: string, key: string) => Effect.Effect<void>
  /** A finished node's outputs as a dependent reads them. */
  readonly input: (manifest: Manifest) => InputArtifact
  /** The store shared by the runs under this run's runs root (shared-store.ts), if the run uses one. */
  readonly shared: SharedStore.SharedStoreService | undefined
  /**
   * Takes the node finished from the shared store when it holds `key`: links its files into this
   * run directory and commits its manifest here (marked `sharedFrom`). None without a store or entry.
   */
  readonly adopt: (id: string, key: string, label: string) => Effect.Effect<Option.Option<Manifest>, FileSystemError>
}

export interface StoreOptions {
  /** The shared store's directory (`sharedStoreDir`); none: nothing is shared. */
  readonly shared?: string | undefined
}

export const make = (runDir: string, options: StoreOptions = {}): Effect.Effect<ArtifactStoreService, never, FileSystem> =>
  Effect.gen(function* () {
    const files = yield* FileSystem
    const root = path.resolve(runDir)
    const shared = options.shared === undefined ? undefined : SharedStore.make(options.shared)
    const nodeDir = (id: string) => path.join(root, "nodes", ...id.split("/"))
    const outputDir = (id: string, key: string) => path.join(nodeDir(id), keyDirName(key))

    const removeTemps = (dir: string) =>
      files.readDirectory(dir).pipe(
        Effect.flatMap((names) => Effect.forEach(names.filter((n) => TEMP_FILE.test(n)), (n) => files.remove(path.join(dir, n)))),
        Effect.ignore
      )

    const readManifest = (id: string) =>
      Effect.gen(function* () {
        const file = path.join(nodeDir(id), MANIFEST)
        if (!(yield* files.exists(file))) return Option.none<Manifest>()
        const text = yield* files.readText(file)
        const decoded = decodeManifest(text)
        if (Either.isLeft(decoded)) {
          return yield* new CorruptManifestError({
            file,
            reason: decoded.left.split("\n")[0]!,
            hint: "it was edited or damaged: delete it and the node will run again"
          })
        }
        return Option.some(decoded.right)
      })

    const missingOutput = (id: string, manifest: Manifest) =>
      Effect.gen(function* () {
        for (const [name, out] of Object.entries(manifest.outputs.files)) {
          const stat = yield* Effect.either(files.stat(path.join(nodeDir(id), out.path)))
          if (Either.isLeft(stat) || stat.right.size !== out.bytes) return Option.some(name)
        }
        return Option.none<string>()
      })

    const writeOutput = (id: string, key: string, name: string, data: Uint8Array | string) =>
      Effect.gen(function* () {
        if (!isValidOutputName(name)) {
          return yield* new OutputNameError({
            node: id,
            name,
            hint: `use letters, digits, '.', '_', '-' (not starting with '.'); ${[...RESERVED].join(", ")} are reserved`
          })
        }
        const file = path.join(outputDir(id, key), name)
        yield* files.writeFile(file, data)
        const bytes = typeof data === "string" ? Buffer.byteLength(data) : data.byteLength
        return { path: `${keyDirName(key)}/${name}`, bytes }
      })

    const commitHere = (manifest: Manifest) =>
      Effect.gen(function* () {
        const dir = nodeDir(manifest.id)
        yield* files.writeFile(path.join(dir, MANIFEST), encodeManifest(manifest))
        const current = keyDirName(manifest.key)
        // Cleanup after the commit point: a crash here only leaves garbage the next commit removes.
        const names = yield* Effect.orElseSucceed(files.readDirectory(dir), () => [] as ReadonlyArray<string>)
        yield* Effect.forEach(names.filter((n) => KEY_DIR.test(n) && n !== current), (n) => Effect.ignore(files.remove(path.join(dir, n))))
        yield* Effect.ignore(files.remove(path.join(dir, current, CHECKPOINT)))
        yield* Effect.ignore(files.remove(path.join(dir, current, FAILURE)))
        yield* Effect.forEach(JOB_FILES, (f) => Effect.ignore(files.remove(path.join(dir, current, f))))
        yield* removeTemps(dir)
        yield* removeTemps(path.join(dir, current))
      })

    // Filing a node in the shared store comes after its commit here and may fail without harm:
    // the run has its result, and another run only computes it again.
    const commit = (manifest: Manifest) =>
      Effect.zipRight(commitHere(manifest), shared === undefined ? Effect.void : shared.publish(manifest, nodeDir(manifest.id), root))

    const adopt = (id: string, key: string, label: string) =>
      Effect.gen(function* () {
        if (shared === undefined) return Option.none<Manifest>()
        const manifest = yield* shared.adopt(key, { id, label, outputDir: outputDir(id, key), keyDir: keyDirName(key) })
        if (Option.isSome(manifest)) yield* commitHere(manifest.value)
        return manifest
      })

    const loadCheckpoint = (id: string, key: string) =>
      Effect.gen(function* () {
        const file = path.join(outputDir(id, key), CHECKPOINT)
        if (!(yield* files.exists(file))) return Option.none<Uint8Array>()
        return Option.some(yield* files.readFile(file))
      })

    const readFailure = (id: string, key: string) =>
      files.readText(path.join(outputDir(id, key), FAILURE)).pipe(
        Effect.map((text) => Option.some(JSON.parse(text) as FailureRecord)),
        Effect.catchAllCause(() => Effect.succeed(Option.none<FailureRecord>()))
      )

    const input = (manifest: Manifest): InputArtifact => {
      const filePath = (name: string) => {
        const out = manifest.outputs.files[name]
        if (out === undefined) throw new Error(`node ${manifest.id} has no file output '${name}'`)
        return path.join(nodeDir(manifest.id), out.path)
      }
      return {
        id: manifest.id,
        key: manifest.key as NodeKey,
        json: manifest.outputs.json,
        files: Object.keys(manifest.outputs.files).sort(),
        filePath,
        readFile: (name) => Effect.suspend(() => files.readFile(filePath(name)))
      }
    }

    return {
      runDir: root,
      nodeDir,
      outputDir,
      readManifest,
      missingOutput,
      writeOutput,
      commit,
      saveCheckpoint: (id, key, data) => files.writeFile(path.join(outputDir(id, key), CHECKPOINT), data),
      loadCheckpoint,
      hasCheckpoint: (id, key) => files.exists(path.join(outputDir(id, key), CHECKPOINT)),
      recordFailure: (id, failure) => files.writeFile(path.join(outputDir(id, failure.key), FAILURE), `${JSON.stringify(failure)}\n`),
      readFailure,
      sweep: (id) => removeTemps(nodeDir(id)),
      beginAttempt: (id, key) =>
        Effect.zipRight(
          removeTemps(nodeDir(id)),
          files.readDirectory(outputDir(id, key)).pipe(
            Effect.flatMap((names) =>
              Effect.forEach(names.filter((n) => n !== CHECKPOINT), (n) => files.remove(path.join(outputDir(id, key), n)))
            ),
            Effect.ignore
          )
        ),
      input,
      shared,
      adopt
    } satisfies ArtifactStoreService
  })

export class ArtifactStore extends Context.Tag("rstn/ArtifactStore")<ArtifactStore, ArtifactStoreService>() {
  /** The store of the run directory `runDir`. */
  static readonly layer = (runDir: string, options: StoreOptions = {}): Layer.Layer<ArtifactStore, never, FileSystem> =>
    Layer.effect(ArtifactStore, make(runDir, options))

  /** A store over a fresh temporary directory, removed when the layer's scope closes. */
  static readonly layerTemp: Layer.Layer<ArtifactStore, never, FileSystem> = Layer.scoped(
    ArtifactStore,
    Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "rstn-run-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    ).pipe(Effect.flatMap(make))
  )
}
