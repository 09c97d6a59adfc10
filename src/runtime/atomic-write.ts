/**
 * Every file rstn writes goes through here: bytes land in a temporary file beside the target,
 * are flushed to disk, and are renamed over the target, so a reader (or a resumed run after
 * kill -9) sees either the old file or the complete new one, never a partial one.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"

export class WriteError extends Data.TaggedError("WriteError")<{
  readonly file: string
  readonly reason: string
  readonly hint?: string
}> {
  override get message(): string {
    return `cannot write ${this.file}: ${this.reason}`
  }
}

/** The fix for a failed write, by errno code (shared with `file-system.ts`). */
export const hintFor = (code: string | undefined): string | undefined =>
  code === "ENOSPC"
    ? "the disk is full: free space and resume the run; finished work is kept"
    : code === "EACCES" || code === "EPERM"
      ? "check the permissions of the directory"
      : code === "EROFS"
        ? "the file system is read-only: choose another run directory"
        : undefined

let counter = 0
const tempName = (file: string): string =>
  path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${++counter}.tmp`)

/** Synchronous core, for callers outside Effect (tests, fixtures). Throws WriteError. */
export const atomicWriteSync = (file: string, data: Uint8Array | string): void => {
  const tmp = tempName(file)
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    const fd = fs.openSync(tmp, "w")
    try {
      fs.writeFileSync(fd, data)
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(tmp, file)
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true })
    } catch {
      // the temporary file may never have been created
    }
    const err = e as NodeJS.ErrnoException
    throw new WriteError({ file, reason: err.code ?? err.message, hint: hintFor(err.code) })
  }
}

export const atomicWrite = (file: string, data: Uint8Array | string): Effect.Effect<void, WriteError> =>
  Effect.try({
    try: () => atomicWriteSync(file, data),
    catch: (e) => (e instanceof WriteError ? e : new WriteError({ file, reason: String(e) }))
  })
