/**
 * `rstn status RUN_DIR`: where a run stands — running (and which nodes), done, failed (and why),
 * interrupted or dead (and how to resume) — read from the run directory without touching it.
 */
import { Clock, Console, Effect, Option } from "effect"
import { FileSystem } from "../../runtime/file-system.ts"
import { formatStatus, runStatus, type RunStatusReport } from "../../runtime/run-status.ts"
import { booleanFlag } from "../args.ts"
import type { Run } from "../command.ts"

/** The report as plain JSON (the lock as null when there is none). */
export const statusJson = (r: RunStatusReport): string =>
  JSON.stringify({ ...r, lock: Option.getOrNull(r.lock) }, null, 2)

export const run: Run = (args) =>
  Effect.gen(function* () {
    const report = yield* runStatus(args.positionals[0]!)
    const now = yield* Clock.currentTimeMillis
    yield* Console.log(booleanFlag(args, "json") ? statusJson(report) : formatStatus(report, { all: booleanFlag(args, "all"), now }))
    return 0
  }).pipe(Effect.provide(FileSystem.layer))
