/**
 * `rstn sweep`: the runs of a sweep (dsl/load-sweep.ts) one after another, each an ordinary run in
 * its own directory, all sharing the store of their runs root (shared-store.ts), so a node with
 * the same key runs once for the whole sweep; then the runs side by side (compare.ts).
 *
 * The file's own run (its `run.dir`, without the sweep's values) is usually made first, by `rstn
 * run`, which shares nothing by default; its finished nodes are filed in the store before the
 * sweep starts, so a sweep over test settings after one run trains nothing.
 */
import { Effect, Either, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { ResolvedSweep } from "../dsl/load-sweep.ts"
import { compareDirs } from "./compare.ts"
import { comparisonMarkdown } from "./compare-format.ts"
import { decodeManifest, type Manifest } from "./manifest.ts"
import { type RunRequest, runPipeline } from "./run-pipeline.ts"
import { displayDir } from "./run.ts"
import * as SharedStore from "./shared-store.ts"

const MANIFEST = "node.json"

/** The committed manifests of a run directory (`nodes/**\/node.json`) with their node directories; unreadable ones are left out. */
export const finishedNodes = (runDir: string): ReadonlyArray<{ readonly manifest: Manifest; readonly nodeDir: string }> => {
  const root = path.join(runDir, "nodes")
  if (!fs.existsSync(root)) return []
  return (fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[]).flatMap((d) => {
    if (!d.isFile() || d.name !== MANIFEST) return []
    const m = Either.try(() => fs.readFileSync(path.join(d.parentPath, d.name), "utf8")).pipe(Either.flatMap((text) => Either.mapLeft(decodeManifest(text), () => undefined)))
    return Either.isRight(m) ? [{ manifest: m.right, nodeDir: d.parentPath }] : []
  })
}

/**
 * Files every node finished in `runDir` in the store at `storeDir` (those it holds already are
 * left as they are). Returns how many nodes the store holds from that run afterwards.
 */
export const shareFinished = (runDir: string, storeDir: string): Effect.Effect<number> =>
  Effect.gen(function* () {
    const store = SharedStore.make(storeDir)
    let held = 0
    for (const { manifest, nodeDir } of finishedNodes(runDir)) {
      yield* store.publish(manifest, nodeDir, runDir)
      if (Option.isSome(yield* store.holder(manifest.key))) held++
    }
    return held
  })

export interface SweepRequest {
  readonly sweep: ResolvedSweep
  /** The `--set` flags the sweep was loaded with (kept in each run's record). */
  readonly overrides: ReadonlyArray<string>
  /** Where the sweep's own lines, the runs' log lines and the comparison go (default stdout). */
  readonly out?: (line: string) => void
  readonly runOptions?: Pick<RunRequest, "fileSystem" | "slurm">
}

/** Runs every run of the sweep in order; the exit code is the worst of theirs (130 stops the sweep). */
export const runSweep = (req: SweepRequest) =>
  Effect.gen(function* () {
    const out = req.out ?? ((line: string) => void process.stdout.write(`${line}\n`))
    const { sweep } = req
    const baseDir = path.resolve(sweep.base.pipeline.run.dir)
    const stores = [...new Set(sweep.runs.flatMap((r) => SharedStore.sharedStoreDir(r.pipeline.run.store, r.pipeline.run.dir) ?? []))]
    for (const store of stores) {
      const held = yield* shareFinished(baseDir, store)
      if (held > 0) out(`sweep: the store ${displayDir(store)} holds ${held} finished node${held === 1 ? "" : "s"} of ${displayDir(baseDir)}`)
    }
    let worst = 0
    const finished: string[] = []
    for (const [i, r] of sweep.runs.entries()) {
      out(`sweep: run ${i + 1}/${sweep.runs.length} ${r.pipeline.name} (${r.describe.join(", ")}) in ${displayDir(r.pipeline.run.dir)}`)
      // The run's record lists the sweep's values as --set flags: what makes it differ from the file.
      const code = yield* runPipeline({
        file: sweep.file,
        overrides: [...req.overrides, ...r.describe],
        pipeline: r.pipeline,
        out,
        printSummary: false,
        ...req.runOptions
      })
      worst = Math.max(worst, code)
      if (code === 130) {
        out(`sweep stopped at run ${i + 1}/${sweep.runs.length}; the runs after it did not start (rstn sweep again continues: finished nodes are reused)`)
        return code
      }
      if (code === 0) finished.push(r.pipeline.run.dir)
    }
    if (finished.length > 0) {
      const comparison = yield* Effect.either(compareDirs(finished.map(displayDir)))
      out("")
      out(Either.isRight(comparison) ? comparisonMarkdown(comparison.right).trimEnd() : `sweep: no comparison: ${comparison.left.message}`)
    }
    if (finished.length < sweep.runs.length) out(`sweep: ${sweep.runs.length - finished.length} of ${sweep.runs.length} runs did not finish; rstn status DIR says why`)
    return worst
  })
