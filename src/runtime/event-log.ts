/**
 * `<runDir>/events.jsonl`: the appender that writes every bus event to it as it happens (one JSON
 * object per line, a batch of pending events per write call), and the reader that `rstn status`
 * uses. A resumed run appends to the same file; a line cut short by a killed process is skipped
 * by the reader and never glued to the next one (the appender starts on a fresh line).
 */
import { Effect, Either, type Fiber, Option, Queue, type Scope } from "effect"
import * as path from "node:path"
import { EventBus } from "./event-bus.ts"
import { decodeLine, encodeLine, type RunEvent } from "./events.ts"
import { FileSystem, type FileSystemError } from "./file-system.ts"

export const EVENTS_FILE = "events.jsonl"

export const eventsFile = (runDir: string): string => path.join(runDir, EVENTS_FILE)

/** At most this many queued events go out in one write. */
const BATCH = 512

/**
 * Takes events from `queue` in batches and hands each batch to `handle`, until a batch contains
 * `run-finished` (which is handled too). The subscription must exist before the run publishes.
 */
export const drainUntilFinished = <E>(
  queue: Queue.Dequeue<RunEvent>,
  handle: (batch: ReadonlyArray<RunEvent>) => Effect.Effect<void, E>
): Effect.Effect<void, E> =>
  Effect.gen(function* () {
    for (;;) {
      const batch = yield* Queue.takeBetween(queue, 1, BATCH)
      const events = [...batch]
      const end = events.findIndex((e) => e._tag === "run-finished")
      yield* handle(end < 0 ? events : events.slice(0, end + 1))
      if (end >= 0) return
    }
  })

/**
 * Subscribes now and forks the appender. The fiber ends after writing `run-finished`; if a write
 * fails (a full disk) it keeps draining so memory stays flat and ends with the first error.
 */
export const appendEvents = (
  file: string
): Effect.Effect<Fiber.RuntimeFiber<void, FileSystemError>, FileSystemError, EventBus | FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const files = yield* FileSystem
    const queue = yield* bus.subscribe
    const out = yield* files.openAppend(file)
    let failure = Option.none<FileSystemError>()
    const write = (batch: ReadonlyArray<RunEvent>) =>
      Option.isSome(failure)
        ? Effect.void
        : out.append(batch.map((e) => `${encodeLine(e)}\n`).join("")).pipe(
            Effect.catchAll((e) => Effect.sync(() => void (failure = Option.some(e))))
          )
    return yield* Effect.forkScoped(
      Effect.zipRight(
        drainUntilFinished(queue, write),
        Effect.suspend(() => (Option.isSome(failure) ? Effect.fail(failure.value) : Effect.void))
      )
    )
  })

export interface EventLog {
  readonly events: ReadonlyArray<RunEvent>
  /** 1-based numbers of lines that did not decode (damaged, or from another version). */
  readonly invalidLines: ReadonlyArray<number>
}

/** Decodes a whole events.jsonl text; an unterminated last line is a write in progress and is left out. */
export const parseEventLog = (text: string): EventLog => {
  const lines = text.split("\n")
  lines.pop() // "" after the final newline, or the unterminated last line
  const events: RunEvent[] = []
  const invalidLines: number[] = []
  lines.forEach((line, i) => {
    if (line.trim() === "") return
    const decoded = decodeLine(line)
    if (Either.isRight(decoded)) events.push(decoded.right)
    else invalidLines.push(i + 1)
  })
  return { events, invalidLines }
}

export const readEventLog = (file: string): Effect.Effect<EventLog, FileSystemError, FileSystem> =>
  Effect.flatMap(FileSystem, (files) => Effect.map(files.readText(file), parseEventLog))
