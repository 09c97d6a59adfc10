/**
 * The store that runs under one runs root share, so a node computed by one run is not computed
 * again by another: a node's key is already the hash of everything it computes from (graph.ts),
 * so a finished node is filed under its key, and any run whose graph has a node with that key
 * adopts it instead of running it. A sweep over test settings (t, T) thus trains its networks
 * once: training keys do not read the test settings.
 *
 *   <store>/<key>/entry.json     the manifest, the sha256 of every file, the run that computed it
 *   <store>/<key>/files/<name>   the node's file outputs (hard links to the run's files where
 *                                the file system allows, else copies)
 *
 * Publishing builds the entry in a temporary directory and renames it to `<key>` in one step:
 * an entry exists complete or not at all, and when two runs publish the same key at once the
 * second rename fails (the directory exists) and its copy is dropped. Adopting checks every
 * file's size and sha256 before linking it into the run directory (a run's file edited in place
 * would reach the store through a hard link), drops an entry that fails, and then the node runs.
 * Two runs that start the same node at the same time both compute it (the results are the same,
 * since every node's randomness derives from its key); the store keeps the first.
 */
import { Effect, Either, Option } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { decodeManifest, encodeManifest, type Manifest } from "./manifest.ts"

/** The default store of a run: `.rstn-store` in the directory that holds the run directory. */
export const STORE_DIR = ".rstn-store"
const ENTRY = "entry.json"
const FILES = "files"

/**
 * Where `run.store` puts the shared store of the run in `runDir`; undefined for `none`. A run
 * that does not say shares nothing (its directory alone holds its work), a sweep's runs do
 * (`sweep.ts` writes `auto` into them).
 */
export const sharedStoreDir = (store: string | undefined, runDir: string): string | undefined =>
  store === undefined || store === "none" ? undefined : store === "auto" ? path.join(path.dirname(path.resolve(runDir)), STORE_DIR) : path.resolve(store)

interface Entry {
  readonly format: 1
  readonly manifest: string
  readonly sha256: Readonly<Record<string, string>>
  /** The run directory that computed the node. */
  readonly from: string
}

const sha256 = (file: string): string => createHash("sha256").update(fs.readFileSync(file)).digest("hex")

let counter = 0
const unique = () => `${process.pid}.${++counter}`

/** `to` as a hard link to `from`, or a copy where links are not possible (another file system). */
const linkOrCopy = (from: string, to: string): void => {
  try {
    fs.linkSync(from, to)
  } catch {
    fs.copyFileSync(from, to)
  }
}

export interface SharedStoreService {
  readonly dir: string
  /** The run that computed the node of `key`, when the store holds it. */
  readonly holder: (key: string) => Effect.Effect<Option.Option<string>>
  /**
   * Files a committed node (manifest and outputs under `nodeDir`) under its key. Nodes that ran
   * on partial inputs are not filed: they are never reused.
   */
  readonly publish: (manifest: Manifest, nodeDir: string, runDir: string) => Effect.Effect<void>
  /**
   * The stored node of `key`, its files verified and linked into `outputDir` (`name` → file),
   * as the manifest to commit (paths relative to the node's directory, as `keyDir/name`).
   */
  readonly adopt: (
    key: string,
    node: { readonly id: string; readonly label: string; readonly outputDir: string; readonly keyDir: string }
  ) => Effect.Effect<Option.Option<Manifest>>
}

export const make = (dir: string): SharedStoreService => {
  const root = path.resolve(dir)
  const entryDir = (key: string) => path.join(root, key)

  const readEntry = (key: string): Entry | undefined => {
    try {
      return JSON.parse(fs.readFileSync(path.join(entryDir(key), ENTRY), "utf8")) as Entry
    } catch {
      return undefined
    }
  }

  /** Moves a damaged entry out of the way (atomically), then removes it. */
  const drop = (key: string) => {
    const aside = path.join(root, `.drop-${key.slice(0, 16)}.${unique()}`)
    try {
      fs.renameSync(entryDir(key), aside)
      fs.rmSync(aside, { recursive: true, force: true })
    } catch {
      // another run dropped it first
    }
  }

  return {
    dir: root,
    holder: (key) => Effect.sync(() => Option.map(Option.fromNullable(readEntry(key)), (e) => e.from)),
    publish: (manifest, nodeDir, runDir) =>
      Effect.sync(() => {
        if ((manifest.missingInputs ?? []).length > 0 || manifest.sharedFrom !== undefined) return
        if (fs.existsSync(path.join(entryDir(manifest.key), ENTRY))) return
        const tmp = path.join(root, `.tmp-${manifest.key.slice(0, 16)}.${unique()}`)
        try {
          fs.mkdirSync(path.join(tmp, FILES), { recursive: true })
          const sums: Record<string, string> = {}
          for (const [name, out] of Object.entries(manifest.outputs.files)) {
            const from = path.join(nodeDir, out.path)
            linkOrCopy(from, path.join(tmp, FILES, name))
            sums[name] = sha256(from)
          }
          const entry: Entry = { format: 1, manifest: encodeManifest(manifest), sha256: sums, from: path.resolve(runDir) }
          fs.writeFileSync(path.join(tmp, ENTRY), JSON.stringify(entry, null, 2) + "\n")
          // The commit point: the entry appears complete, or (another run was first) not at all.
          fs.renameSync(tmp, entryDir(manifest.key))
        } catch {
          fs.rmSync(tmp, { recursive: true, force: true })
        }
      }),
    adopt: (key, node) =>
      Effect.sync(() => {
        const entry = readEntry(key)
        if (entry === undefined) return Option.none()
        const decoded = decodeManifest(entry.manifest)
        if (Either.isLeft(decoded) || decoded.right.key !== key) {
          drop(key)
          return Option.none()
        }
        const stored = decoded.right
        const files: Record<string, { path: string; bytes: number }> = {}
        try {
          for (const [name, out] of Object.entries(stored.outputs.files)) {
            const from = path.join(entryDir(key), FILES, name)
            if (fs.statSync(from).size !== out.bytes || sha256(from) !== entry.sha256[name]) {
              drop(key)
              return Option.none()
            }
            fs.mkdirSync(node.outputDir, { recursive: true })
            const to = path.join(node.outputDir, name)
            // Linked under a temporary name and renamed over the target: never a partial file.
            const tmp = path.join(node.outputDir, `.${name}.${process.pid}.${++counter}.tmp`)
            linkOrCopy(from, tmp)
            fs.renameSync(tmp, to)
            files[name] = { path: `${node.keyDir}/${name}`, bytes: out.bytes }
          }
        } catch {
          return Option.none()
        }
        return Option.some<Manifest>({ ...stored, id: node.id, label: node.label, outputs: { json: stored.outputs.json, files }, sharedFrom: entry.from })
      })
  }
}
