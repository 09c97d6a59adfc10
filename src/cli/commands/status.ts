/**
 * `rstn status RUN_DIR`: where a run stands — running (and which nodes), done, failed (and why),
 * interrupted or dead (and how to resume) — read from the run directory without touching it.
 */
import { Clock, Console, Effect, Option } from "effect"
import { FileSystem } from "../../runtime/file-system.ts"
import { formatStatus, runStatus, type RunStatusReport } from "../../runtime/run-status.ts"
import { booleanFlag, type CommandSpec } from "../args.ts"
import type { Command } from "../command.ts"

export const statusSpec: CommandSpec = {
  name: "status",
  summary: "Show a run's state and its nodes: done, running, pending, failed.",
  positionals: "RUN_DIR",
  minPositionals: 1,
  maxPositionals: 1,
  flags: {
    all: { kind: "boolean", description: "List every node, not only the running, failed, skipped and resumable ones." },
    json: { kind: "boolean", description: "Print the report as one JSON object." }
  },
  details: "Reads events.jsonl, run.lock and the node manifests; never writes to the run directory, so it is safe during a run."
}

/** The report as plain JSON (the lock as null when there is none). */
export const statusJson = (r: RunStatusReport): string =>
  JSON.stringify({ ...r, lock: Option.getOrNull(r.lock) }, null, 2)

export const statusCommand: Command = {
  spec: statusSpec,
  run: (args) =>
    Effect.gen(function* () {
      const report = yield* runStatus(args.positionals[0]!)
      const now = yield* Clock.currentTimeMillis
      yield* Console.log(booleanFlag(args, "json") ? statusJson(report) : formatStatus(report, { all: booleanFlag(args, "all"), now }))
      return 0
    }).pipe(Effect.provide(FileSystem.layer))
}
