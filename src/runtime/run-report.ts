/**
 * What a finished run hands its user: the report node's figures for the run-finished event, and
 * its files (summary.md, summary.json, cases.csv, cases.json) with the predicted masks copied to
 * the run directory's root, where people look for them.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { atomicWrite, WriteError } from "./atomic-write.ts"
import { REPORT_ID } from "./compile.ts"
import type { NodeOutcome } from "./executor.ts"
import type { Manifest } from "./manifest.ts"
import type { Publication } from "./nodes/evaluate.ts"

/** The run's own summary for run-finished, taken from the report node. */
export const summarize = (outcomes: ReadonlyMap<string, NodeOutcome>) => {
  const report = outcomes.get(REPORT_ID)
  if (report === undefined || (report._tag !== "done" && report._tag !== "cached")) {
    const failed = [...outcomes.entries()].filter(([id, o]) => id.startsWith("test/") && (o._tag === "failed" || o._tag === "skipped"))
    return { summary: null, coarse: null, failedCases: failed.map(([id]) => id.slice("test/".length)) }
  }
  const json = report.manifest.outputs.json as unknown as {
    final: { mean: number; std: number; max: number; min: number; count: number } | null
    coarse: { mean: number; std: number; max: number; min: number; count: number } | null
    failedCases: string[]
  }
  const stats = (s: typeof json.final) => (s === null || s.count === 0 ? null : s)
  return { summary: stats(json.final), coarse: stats(json.coarse), failedCases: json.failedCases }
}

/**
 * The nodes that failed, for the end of the published summary.md: each with its message and,
 * when it ran as a Slurm job or in a worker that died, the job and the log to read. Empty when
 * none failed.
 */
export const failuresMarkdown = (outcomes: ReadonlyMap<string, NodeOutcome>, labelOf: (id: string) => string): string => {
  const lines = [...outcomes.entries()].flatMap(([id, o]) => {
    if (o._tag !== "failed") return []
    const where =
      o.fault._tag === "JobFailed" ? ` (Slurm job ${o.fault.jobId}, log ${o.fault.log})` : o.fault._tag === "WorkerLost" ? ` (log ${o.fault.log})` : ""
    return [`- ${labelOf(id)}: ${o.message}${where}`]
  })
  return lines.length === 0 ? "" : ["", "## Failed nodes", "", ...lines, ""].join("\n")
}

/**
 * Copies the report's files and the predicted masks to the run directory's root; `failures`
 * (`failuresMarkdown`) is added to the end of summary.md there.
 */
export const publish = (runDir: string, manifest: Manifest, outputDir: string, failures = ""): Effect.Effect<void, WriteError> =>
  Effect.gen(function* () {
    const copies: Publication[] = [
      ...Object.values(manifest.outputs.files).map((f) => ({ from: path.join(outputDir, path.basename(f.path)), to: path.basename(f.path) })),
      ...((manifest.outputs.json.publish as unknown as Publication[] | undefined) ?? [])
    ]
    for (const c of copies) {
      const bytes = yield* Effect.try({
        try: () => fs.readFileSync(c.from),
        catch: () => new WriteError({ file: path.join(runDir, c.to), reason: `its source ${c.from} is gone`, hint: "run again to recompute it" })
      })
      yield* atomicWrite(path.join(runDir, c.to), c.to === "summary.md" && failures !== "" ? Buffer.concat([bytes, Buffer.from(failures)]) : bytes)
    }
  })
