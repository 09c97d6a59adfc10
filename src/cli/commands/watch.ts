/**
 * `rstn watch RUN_DIR`: the terminal UI attached to a run started elsewhere, read from the run's
 * `events.jsonl` and followed as it grows. It only ever reads the run directory. On a terminal it
 * stays until q (the run goes on); with `--once`, or when stdout is not a terminal, it prints the
 * current state (the final summary of a finished run) and exits.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { EVENTS_FILE } from "../../runtime/event-log.ts"
import { decodeLine } from "../../runtime/events.ts"
import { reduceAll } from "../../../tui/reduce.ts"
import type { UiEvent } from "../../../tui/ui-event.ts"
import { booleanFlag, numberFlag } from "../args.ts"
import type { Run } from "../command.ts"
import { fileProblem } from "../../runtime/file-problem.ts"

export class WatchError extends fileProblem("WatchError") {}

/** The events file of `target`: a run directory, or an events file given directly. */
export const locateEventsFile = (target: string): Effect.Effect<string, WatchError> =>
  Effect.try({
    try: () => {
      let stat: fs.Stats
      try {
        stat = fs.statSync(target)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        throw new WatchError({
          file: target,
          reason: code === "ENOENT" ? "no such run directory" : `cannot read it (${code ?? String(e)})`,
          hint: "give the run directory that `rstn run` reported (the one holding events.jsonl)"
        })
      }
      if (stat.isFile()) {
        if (target.endsWith(".jsonl")) return target
        throw new WatchError({
          file: target,
          reason: "is a file, not a run directory",
          hint: "give the run directory (or its events.jsonl)"
        })
      }
      const file = path.join(target, EVENTS_FILE)
      if (!fs.existsSync(file)) {
        throw new WatchError({
          file: target,
          reason: `has no ${EVENTS_FILE}`,
          hint: "the run has not started yet, or this is not a run directory: look for the directory holding events.jsonl"
        })
      }
      return file
    },
    catch: (e) => (e instanceof WatchError ? e : new WatchError({ file: target, reason: String(e), hint: "check the path" }))
  })

export interface FollowOptions {
  /** Keep reading as the file grows; false reads what is there now and ends. */
  readonly follow: boolean
  /** How often to look for growth when following. */
  readonly pollMs?: number
  readonly signal?: AbortSignal
  /** Whether the run's process still exists; default: signal 0 to its pid (same machine). */
  readonly isAlive?: (pid: number) => boolean
  /** Silence after which a following reader checks that the run's process is still there. */
  readonly staleMs?: number
  readonly now?: () => number
}

const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

const sleep = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener("abort", done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener("abort", done, { once: true })
  })

const CHUNK = 1 << 20
const NEWLINE = 0x0a

/**
 * The events of a run's log, in order, decoded with the run's own schema. Only complete lines
 * are decoded: a last line still being written waits for its newline. A line that does not
 * decode becomes a warning naming the file and line, and reading goes on. When following, a
 * file that shrinks or is replaced is read again from its start, and a run whose process has
 * gone without `run-finished` ends the stream with `source-stopped`.
 */
export async function* followEvents(file: string, opts: FollowOptions): AsyncGenerator<UiEvent> {
  const pollMs = opts.pollMs ?? 250
  const staleMs = opts.staleMs ?? 2000
  const now = opts.now ?? Date.now
  const isAlive = opts.isAlive ?? processAlive
  let handle = await fs.promises.open(file, "r")
  let inode = (await handle.stat()).ino
  try {
    let offset = 0
    let pending = Buffer.alloc(0)
    let lineNo = 0
    let pid: number | null = null
    let finished = false
    let lastAt = 0
    let quietSince = now()
    const buffer = Buffer.alloc(CHUNK)
    const restart = () => {
      offset = 0
      pending = Buffer.alloc(0)
      lineNo = 0
    }
    for (;;) {
      if (opts.signal?.aborted) return
      const { size } = await handle.stat()
      if (size < offset) restart()
      if (size > offset) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK, size - offset), offset)
        offset += bytesRead
        pending = pending.length === 0 ? Buffer.from(buffer.subarray(0, bytesRead)) : Buffer.concat([pending, buffer.subarray(0, bytesRead)])
        quietSince = now()
        let start = 0
        for (let nl = pending.indexOf(NEWLINE, start); nl >= 0; nl = pending.indexOf(NEWLINE, start)) {
          const text = pending.toString("utf8", start, nl).replace(/\r$/, "")
          start = nl + 1
          lineNo++
          if (text.trim() === "") continue
          const decoded = decodeLine(text)
          if (decoded._tag === "Left") {
            // A line cut short by a killed run (the resumed run starts a fresh line after it), or
            // one written by another rstn version: say so and read on.
            const reason = decoded.left.message.split("\n")[0]!.slice(0, 160)
            yield { _tag: "warning", at: lastAt, message: `line ${lineNo} is not a run event, skipped (${reason})`, file }
            continue
          }
          const event = decoded.right
          lastAt = event.at
          if (event._tag === "run-started") {
            pid = event.pid
            finished = false
          } else if (event._tag === "run-finished") {
            finished = true
          }
          yield event
        }
        pending = pending.subarray(start)
        continue
      }
      if (opts.follow) {
        // A run directory deleted and recreated holds a new file under the same name: the open
        // descriptor would wait on the old one forever.
        const onDisk = await fs.promises.stat(file).catch(() => null)
        if (onDisk !== null && onDisk.ino !== inode) {
          const next = await fs.promises.open(file, "r")
          await handle.close()
          handle = next
          inode = (await handle.stat()).ino
          restart()
          continue
        }
      }
      const gone = pid !== null && !finished && (!opts.follow || now() - quietSince >= staleMs) && !isAlive(pid)
      if (gone) {
        yield {
          _tag: "source-stopped",
          // It died some time after its last event; that is the last moment known to be alive.
          at: lastAt,
          reason: `the run's process (pid ${pid}) is gone and the run did not finish`,
          hint: "it was killed or crashed; `rstn run` with the same pipeline and run directory resumes it"
        }
        return
      }
      if (!opts.follow) return
      await sleep(pollMs, opts.signal)
    }
  } finally {
    await handle.close()
  }
}

const readError = (file: string) => (e: unknown) =>
  new WatchError({
    file,
    reason: `cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
    hint: "check that it exists and that you may read it"
  })

/** Ink and React take most of a second to load: only commands that draw pay for them. */
const loadUi = () => import("../../../tui/index.ts")

/** Reads the whole log now: what `--once` prints. */
const snapshot = (file: string) =>
  Effect.tryPromise({
    try: async () => {
      const events: UiEvent[] = []
      for await (const e of followEvents(file, { follow: false })) events.push(e)
      return reduceAll(events)
    },
    catch: readError(file)
  })

const live = (file: string, pollMs: number) =>
  Effect.gen(function* () {
    // Checked before the screen is taken, so a file gone since `locate` is a plain error. Later
    // read failures end the stream and show on screen as the run being stopped.
    yield* Effect.tryPromise({ try: () => fs.promises.access(file, fs.constants.R_OK), catch: readError(file) })
    const { mountRunUi } = yield* Effect.promise(loadUi)
    yield* Effect.promise(async () => {
      const controller = new AbortController()
      const ui = mountRunUi({
        events: followEvents(file, { follow: true, pollMs, signal: controller.signal }),
        // Without keys (stdin not a terminal) nobody could press q: leave when the run ends.
        exitWhenFinished: !process.stdin.isTTY
      })
      try {
        await ui.done
      } finally {
        controller.abort()
      }
    })
  })

export const run: Run = (args) =>
  Effect.gen(function* () {
    const file = yield* locateEventsFile(args.positionals[0]!)
    const stdout = process.stdout
    if (booleanFlag(args, "once") || !stdout.isTTY) {
      const state = yield* snapshot(file)
      const { renderSnapshot } = yield* Effect.promise(loadUi)
      // Not a terminal: wide enough for ten rounds (rstn-reference.md: T = 10) side by side.
      const columns = stdout.isTTY ? stdout.columns : Number(process.env.COLUMNS) || 160
      stdout.write(renderSnapshot(state, { columns, now: Date.now() }) + "\n")
      return 0
    }
    yield* live(file, Math.max(20, numberFlag(args, "poll") ?? 250))
    return 0
  })
