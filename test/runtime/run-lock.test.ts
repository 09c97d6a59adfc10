import { Effect, Exit, Fiber, Option } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { parseEventLog } from "../../src/runtime/event-log.ts"
import { FileSystem } from "../../src/runtime/file-system.ts"
import * as RunLock from "../../src/runtime/run-lock.ts"
import { executeRunIn, type RunOptions } from "../../src/runtime/run.ts"
import { diamond, testHeader } from "./fixtures/graphs.ts"
import { tempDir } from "./fixtures/temp.ts"
import { build, sleeper } from "./fixtures/test-nodes.ts"

const options: RunOptions = { concurrency: 1, onNodeError: "skip", header: testHeader }

/** The pid of a process that has exited (pids are not reused this quickly). */
const deadPid = (): number => {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" })
  return Number(r.stdout)
}

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  return Option.getOrThrow(Exit.causeOption(exit).pipe(Option.flatMap((c) => Option.fromNullable(c._tag === "Fail" ? c.error : undefined))))
}

describe("run lock", () => {
  it("a second concurrent run in the same directory fails, naming the pid", async () => {
    const dir = tempDir()
    const exit = await Effect.runPromise(
      Effect.gen(function* () {
        const first = yield* Effect.fork(executeRunIn(dir, build([sleeper("slow", 400, { now: 0, max: 0 })]), options))
        while (!fs.existsSync(path.join(dir, "run.lock"))) yield* Effect.sleep(5)
        const second = yield* Effect.exit(executeRunIn(dir, diamond(), options))
        expect((yield* Fiber.join(first)).status).toBe("done")
        return second
      })
    )
    const error = failureOf(exit)
    expect(error).toBeInstanceOf(RunLock.RunLockedError)
    expect((error as RunLock.RunLockedError).message).toMatch(
      new RegExp(`^the run directory is in use by process ${process.pid} on ${os.hostname()} \\(since .*\\); lock ${dir}/run\\.lock$`)
    )
    expect((error as RunLock.RunLockedError).hint).toBe(
      `wait for it to finish, or stop it (kill -INT ${process.pid}) and resume; if process ${process.pid} is not rstn, delete ${dir}/run.lock`
    )
    // the failed attempt neither removed the first run's lock early nor wrote to its log
    const log = parseEventLog(fs.readFileSync(path.join(dir, "events.jsonl"), "utf8"))
    expect(log.events.filter((e) => e._tag === "run-started")).toHaveLength(1)
    expect(fs.existsSync(path.join(dir, "run.lock"))).toBe(false)
  })

  it("takes over the lock of a dead process, with a warning", async () => {
    const dir = tempDir()
    const pid = deadPid()
    fs.writeFileSync(path.join(dir, "run.lock"), JSON.stringify({ pid, hostname: os.hostname(), startedAt: 0 }))
    const result = await Effect.runPromise(executeRunIn(dir, diamond(), options))
    expect(result.status).toBe("done")
    expect(result.tookOver).toEqual(Option.some({ pid, hostname: os.hostname(), startedAt: 0 }))
    const warning = parseEventLog(fs.readFileSync(path.join(dir, "events.jsonl"), "utf8")).events.find((e) => e._tag === "warning")
    expect(warning?._tag === "warning" && warning.message).toBe(
      `took over the lock of process ${pid} on ${os.hostname()}, which is no longer running (started 1970-01-01T00:00:00.000Z)`
    )
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("run.lock"))).toEqual([])
  })

  it("does not take over a lock from another host", async () => {
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, "run.lock"), JSON.stringify({ pid: deadPid(), hostname: "elsewhere", startedAt: 0 }))
    const error = failureOf(await Effect.runPromiseExit(executeRunIn(dir, diamond(), options)))
    expect(error).toBeInstanceOf(RunLock.RunLockedError)
    expect((error as RunLock.RunLockedError).hint).toBe(`it runs on another host; if it is no longer running there, delete ${dir}/run.lock`)
    expect(fs.existsSync(path.join(dir, "run.lock"))).toBe(true)
  })

  it("reports an unreadable lock instead of guessing", async () => {
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, "run.lock"), "garbage")
    const error = failureOf(await Effect.runPromiseExit(executeRunIn(dir, diamond(), options)))
    expect(error).toBeInstanceOf(RunLock.BadLockError)
    expect((error as RunLock.BadLockError).hint).toBe("if no rstn process is using this run directory, delete the lock and retry")
  })

  it("is released when the scope closes, also on failure, and never removes another owner's lock", async () => {
    const dir = tempDir()
    const program = Effect.scoped(
      Effect.gen(function* () {
        const acquired = yield* RunLock.acquire(dir, 123)
        expect(JSON.parse(fs.readFileSync(path.join(dir, "run.lock"), "utf8"))).toEqual(acquired.lock)
        return yield* Effect.fail("boom" as const)
      })
    ).pipe(Effect.provide(FileSystem.layer))
    expect(Exit.isFailure(await Effect.runPromiseExit(program))).toBe(true)
    expect(fs.existsSync(path.join(dir, "run.lock"))).toBe(false)

    const other = { pid: process.pid, hostname: os.hostname(), startedAt: 999 }
    fs.writeFileSync(path.join(dir, "run.lock"), JSON.stringify(other))
    await Effect.runPromise(RunLock.release(dir, { ...other, startedAt: 1 }).pipe(Effect.provide(FileSystem.layer)))
    expect(fs.existsSync(path.join(dir, "run.lock"))).toBe(true)
  })
})
