/**
 * `<runDir>/run.lock`: one run per run directory. The lock holds the owner's pid, hostname and
 * start time and is created atomically (it never exists half-written). A second run fails with
 * a message naming the owner; a lock left by a process that no longer exists on this host (a
 * kill -9, a power cut) is stale and is taken over, which the caller reports as a warning. The
 * lock is released when its scope closes, on success, failure and interruption alike.
 */
import { Data, Effect, Option, Schema, type Scope } from "effect"
import * as os from "node:os"
import * as path from "node:path"
import { FileSystem, type FileSystemError } from "./file-system.ts"

export const LOCK_FILE = "run.lock"

export const LockInfo = Schema.Struct({
  pid: Schema.Number,
  hostname: Schema.String,
  /** Milliseconds since the Unix epoch. */
  startedAt: Schema.Number
})
export type LockInfo = typeof LockInfo.Type

export class RunLockedError extends Data.TaggedError("RunLockedError")<{
  readonly file: string
  readonly owner: LockInfo
  readonly hint: string
}> {
  override get message(): string {
    return `the run directory is in use by process ${this.owner.pid} on ${this.owner.hostname} (since ${new Date(this.owner.startedAt).toISOString()}); lock ${this.file}`
  }
}

export class BadLockError extends Data.TaggedError("BadLockError")<{
  readonly file: string
  readonly reason: string
  readonly hint: string
}> {
  override get message(): string {
    return `cannot read the run lock ${this.file}: ${this.reason}`
  }
}

export const lockFile = (runDir: string): string => path.join(runDir, LOCK_FILE)

/** Whether a process with this pid exists on this machine (EPERM: it exists, owned by another user). */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

export const readLock = (runDir: string): Effect.Effect<Option.Option<LockInfo>, FileSystemError | BadLockError, FileSystem> =>
  Effect.gen(function* () {
    const files = yield* FileSystem
    const file = lockFile(runDir)
    const text = yield* files.readText(file).pipe(
      Effect.map(Option.some),
      Effect.catchIf((e) => e.reason === "ENOENT", () => Effect.succeed(Option.none<string>()))
    )
    if (Option.isNone(text)) return Option.none()
    return yield* Schema.decodeUnknown(Schema.parseJson(LockInfo))(text.value).pipe(
      Effect.map(Option.some),
      Effect.mapError(
        (e) =>
          new BadLockError({
            file,
            reason: e.message.split("\n")[0]!,
            hint: "if no rstn process is using this run directory, delete the lock and retry"
          })
      )
    )
  })

/** A lock whose owner is known to be gone: same host, and no process with its pid. */
export const isStale = (lock: LockInfo): boolean => lock.hostname === os.hostname() && !isAlive(lock.pid)

export interface Acquired {
  readonly lock: LockInfo
  /** The stale lock that was taken over, if any. */
  readonly tookOver: Option.Option<LockInfo>
}

/** Takes the lock for the scope's lifetime. */
export const acquire = (
  runDir: string,
  startedAt: number
): Effect.Effect<Acquired, RunLockedError | BadLockError | FileSystemError, FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const files = yield* FileSystem
    const file = lockFile(runDir)
    const lock: LockInfo = { pid: process.pid, hostname: os.hostname(), startedAt }
    const content = `${JSON.stringify(lock)}\n`
    let tookOver = Option.none<LockInfo>()
    // Two rounds: a stale lock is moved aside once, then the exclusive create decides who owns it.
    for (let attempt = 0; ; attempt++) {
      if (yield* files.createExclusive(file, content)) break
      const owner = yield* readLock(runDir)
      if (Option.isNone(owner)) continue // released between our create and our read
      if (!isStale(owner.value) || attempt > 0) {
        return yield* new RunLockedError({
          file,
          owner: owner.value,
          hint:
            owner.value.hostname === os.hostname()
              ? `wait for it to finish, or stop it (kill -INT ${owner.value.pid}) and resume; if process ${owner.value.pid} is not rstn, delete ${file}`
              : `it runs on another host; if it is no longer running there, delete ${file}`
        })
      }
      // Renaming (not deleting) lets exactly one of two racing takers succeed.
      const aside = `${file}.stale-${process.pid}`
      const moved = yield* Effect.either(files.rename(file, aside))
      yield* Effect.ignore(files.remove(aside))
      if (moved._tag === "Right") tookOver = owner
    }
    yield* Effect.addFinalizer(() => release(runDir, lock).pipe(Effect.provideService(FileSystem, files), Effect.ignore))
    return { lock, tookOver }
  })

/** Removes the lock if it is still the one `lock` describes. */
export const release = (runDir: string, lock: LockInfo): Effect.Effect<void, FileSystemError | BadLockError, FileSystem> =>
  Effect.gen(function* () {
    const current = yield* readLock(runDir)
    if (Option.isSome(current) && current.value.pid === lock.pid && current.value.startedAt === lock.startedAt) {
      yield* (yield* FileSystem).remove(lockFile(runDir))
    }
  })
