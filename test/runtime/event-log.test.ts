import { Effect, Exit, Fiber } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { EventBus } from "../../src/runtime/event-bus.ts"
import { appendEvents, parseEventLog } from "../../src/runtime/event-log.ts"
import { decodeLine, encodeLine, type RunEvent } from "../../src/runtime/events.ts"
import { FileSystem } from "../../src/runtime/file-system.ts"
import { tempDir } from "./fixtures/temp.ts"

const log = (i: number): RunEvent => ({ _tag: "log", at: i, message: `line ${i}` })
const finished: RunEvent = { _tag: "run-finished", at: 99, status: "done", summary: null, coarse: null, failedCases: [], resumeHint: null }

const appendAll = (file: string, events: ReadonlyArray<RunEvent>, fileSystem = FileSystem.layer) =>
  Effect.scoped(
    Effect.gen(function* () {
      const bus = yield* EventBus
      const fiber = yield* appendEvents(file)
      for (const e of events) yield* bus.publish(e)
      return yield* Fiber.await(fiber)
    })
  ).pipe(Effect.provide(EventBus.layer), Effect.provide(fileSystem))

describe("events.jsonl", () => {
  it("appends one decodable line per event, up to run-finished, and appends again on resume", async () => {
    const file = path.join(tempDir(), "events.jsonl")
    const first = [log(1), log(2), finished]
    await Effect.runPromise(appendAll(file, first))
    const lines = fs.readFileSync(file, "utf8").split("\n")
    expect(lines).toEqual([...first.map(encodeLine), ""])
    expect(lines.slice(0, 3).map((l) => decodeLine(l)._tag)).toEqual(["Right", "Right", "Right"])

    await Effect.runPromise(appendAll(file, [log(3), finished]))
    expect(parseEventLog(fs.readFileSync(file, "utf8")).events).toEqual([...first, log(3), finished])
  })

  it("writes each event as it happens, before the run ends", async () => {
    const file = path.join(tempDir(), "events.jsonl")
    const seen = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const bus = yield* EventBus
          const fiber = yield* appendEvents(file)
          yield* bus.publish(log(1))
          let text = ""
          for (let i = 0; i < 100 && text === ""; i++) {
            yield* Effect.sleep(5)
            text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
          }
          yield* bus.publish(finished)
          yield* Fiber.join(fiber)
          return text
        })
      ).pipe(Effect.provide(EventBus.layer), Effect.provide(FileSystem.layer))
    )
    expect(seen).toBe(`${encodeLine(log(1))}\n`)
  })

  it("starts on a fresh line after a line cut short by a killed process, and the reader skips it", async () => {
    const file = path.join(tempDir(), "events.jsonl")
    fs.writeFileSync(file, `${encodeLine(log(1))}\n${encodeLine(log(2)).slice(0, 20)}`)
    expect(parseEventLog(fs.readFileSync(file, "utf8"))).toEqual({ events: [log(1)], invalidLines: [] })
    await Effect.runPromise(appendAll(file, [log(3), finished]))
    expect(parseEventLog(fs.readFileSync(file, "utf8"))).toEqual({ events: [log(1), log(3), finished], invalidLines: [2] })
  })

  it("keeps draining when the disk is full and ends with the error", async () => {
    const file = path.join(tempDir(), "events.jsonl")
    const full = FileSystem.layerFaulty((op) => (op === "append" ? "ENOSPC" : undefined))
    const exit = await Effect.runPromise(appendAll(file, [log(1), log(2), finished], full))
    expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(/cannot append to .*events\.jsonl: ENOSPC/)
  })
})
