/**
 * The file system as an Effect service: the few operations the runtime needs over node:fs, with
 * failures as typed values naming the file. Whole-file writes go through `atomic-write.ts`
 * (temp + fsync + rename); the only non-atomic writes are the append-only event log and the
 * exclusive creation of the run lock, which have their own crash rules.
 * `FileSystem.layerFaulty` injects errors (a full disk, a read-only directory) into the real
 * file system so tests can prove that a failing write leaves no partial artifact.
 */
import { Context, Data, Effect, Layer, type Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { atomicWriteSync, hintFor, WriteError } from "./atomic-write.ts"

export class FileSystemError extends Data.TaggedError("FileSystemError")<{
  readonly file: string
  /** What was attempted: read, write, append, remove, rename, mkdir, readdir, stat, link. */
  readonly op: string
  /** The errno code (ENOENT, ENOSPC, ...) or the message when there is none. */
  readonly reason: string
  readonly hint?: string
}> {
  override get message(): string {
    return `cannot ${this.op} ${this.file}: ${this.reason}`
  }
}

export const fsError = (file: string, op: string, e: unknown): FileSystemError => {
  if (e instanceof FileSystemError) return e
  if (e instanceof WriteError) return new FileSystemError({ file: e.file, op, reason: e.reason, hint: e.hint })
  const err = e as NodeJS.ErrnoException
  const code = typeof err?.code === "string" ? err.code : undefined
  return new FileSystemError({ file, op, reason: code ?? String(err?.message ?? e), hint: hintFor(code) })
}

export interface FileStat {
  readonly size: number
  readonly isDirectory: boolean
  readonly mtimeMs: number
}

/** An open append-only file (the event log). Each `append` is one write(2) call. */
export interface AppendHandle {
  readonly append: (text: string) => Effect.Effect<void, FileSystemError>
}

export interface FileSystemService {
  readonly readFile: (file: string) => Effect.Effect<Uint8Array, FileSystemError>
  readonly readText: (file: string) => Effect.Effect<string, FileSystemError>
  /** Atomic: readers see the old content or the complete new one. Creates missing directories. */
  readonly writeFile: (file: string, data: Uint8Array | string) => Effect.Effect<void, FileSystemError>
  readonly exists: (file: string) => Effect.Effect<boolean>
  readonly stat: (file: string) => Effect.Effect<FileStat, FileSystemError>
  readonly makeDirectory: (dir: string) => Effect.Effect<void, FileSystemError>
  readonly readDirectory: (dir: string) => Effect.Effect<ReadonlyArray<string>, FileSystemError>
  /** Removes a file or a directory tree; a missing path is not an error. */
  readonly remove: (file: string) => Effect.Effect<void, FileSystemError>
  readonly rename: (from: string, to: string) => Effect.Effect<void, FileSystemError>
  /**
   * Creates `file` with `content` only if it does not exist, atomically: the content is written
   * to a temporary file first and hard-linked into place (link(2) fails with EEXIST), so the file
   * never appears empty. Returns false when the file already existed.
   */
  readonly createExclusive: (file: string, content: string) => Effect.Effect<boolean, FileSystemError>
  /** Opens for appending, closed with the scope. */
  readonly openAppend: (file: string) => Effect.Effect<AppendHandle, FileSystemError, Scope.Scope>
}

let exclusiveCounter = 0

const createExclusiveSync = (file: string, content: string): boolean => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${++exclusiveCounter}.tmp`)
  fs.writeFileSync(tmp, content)
  try {
    fs.linkSync(tmp, file)
    return true
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === "EEXIST") return false
    // Some file systems have no hard links: fall back to O_CREAT|O_EXCL (content follows at once).
    if (code === "EPERM" || code === "ENOTSUP" || code === "ENOSYS") {
      let fd: number
      try {
        fd = fs.openSync(file, "wx")
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code === "EEXIST") return false
        throw e2
      }
      try {
        fs.writeFileSync(fd, content)
        fs.fsyncSync(fd)
      } finally {
        fs.closeSync(fd)
      }
      return true
    }
    throw e
  } finally {
    fs.rmSync(tmp, { force: true })
  }
}

const sync = <A>(file: string, op: string, f: () => A): Effect.Effect<A, FileSystemError> =>
  Effect.try({ try: f, catch: (e) => fsError(file, op, e) })

export const live: FileSystemService = {
  readFile: (file) => sync(file, "read", () => new Uint8Array(fs.readFileSync(file))),
  readText: (file) => sync(file, "read", () => fs.readFileSync(file, "utf8")),
  writeFile: (file, data) => sync(file, "write", () => atomicWriteSync(file, data)),
  exists: (file) => Effect.sync(() => fs.existsSync(file)),
  stat: (file) =>
    sync(file, "stat", () => {
      const s = fs.statSync(file)
      return { size: s.size, isDirectory: s.isDirectory(), mtimeMs: s.mtimeMs }
    }),
  makeDirectory: (dir) => sync(dir, "create directory", () => void fs.mkdirSync(dir, { recursive: true })),
  readDirectory: (dir) => sync(dir, "list", () => fs.readdirSync(dir).sort()),
  remove: (file) => sync(file, "remove", () => fs.rmSync(file, { recursive: true, force: true })),
  rename: (from, to) => sync(from, "rename", () => fs.renameSync(from, to)),
  createExclusive: (file, content) => sync(file, "create", () => createExclusiveSync(file, content)),
  openAppend: (file) =>
    Effect.acquireRelease(
      sync(file, "open", () => {
        fs.mkdirSync(path.dirname(file), { recursive: true })
        const fd = fs.openSync(file, "a+")
        // A run killed mid-append leaves a partial last line: start on a fresh line.
        const size = fs.fstatSync(fd).size
        if (size > 0) {
          const last = Buffer.alloc(1)
          fs.readSync(fd, last, 0, 1, size - 1)
          if (last[0] !== 0x0a) fs.writeSync(fd, "\n")
        }
        return fd
      }),
      (fd) => Effect.sync(() => fs.closeSync(fd))
    ).pipe(
      Effect.map(
        (fd): AppendHandle => ({
          append: (text) => sync(file, "append to", () => void fs.writeSync(fd, text))
        })
      )
    )
}

/** Which operation a fault applies to. */
export type FaultOp = "write" | "append" | "remove" | "rename" | "create"

export class FileSystem extends Context.Tag("rstn/FileSystem")<FileSystem, FileSystemService>() {
  static readonly layer: Layer.Layer<FileSystem> = Layer.succeed(FileSystem, live)

  /**
   * The real file system, except that `fault(op, file)` returning an errno code (e.g. "ENOSPC")
   * makes that operation fail as the kernel would, before touching the disk.
   */
  static readonly layerFaulty = (fault: (op: FaultOp, file: string) => string | undefined): Layer.Layer<FileSystem> => {
    const check = (op: FaultOp, file: string, label: string): Effect.Effect<void, FileSystemError> => {
      const code = fault(op, file)
      return code === undefined ? Effect.void : Effect.fail(fsError(file, label, Object.assign(new Error(code), { code })))
    }
    return Layer.succeed(FileSystem, {
      ...live,
      writeFile: (file, data) => Effect.zipRight(check("write", file, "write"), live.writeFile(file, data)),
      remove: (file) => Effect.zipRight(check("remove", file, "remove"), live.remove(file)),
      rename: (from, to) => Effect.zipRight(check("rename", from, "rename"), live.rename(from, to)),
      createExclusive: (file, content) => Effect.zipRight(check("create", file, "create"), live.createExclusive(file, content)),
      openAppend: (file) =>
        Effect.map(live.openAppend(file), (h) => ({
          append: (text: string) => Effect.zipRight(check("append", file, "append to"), h.append(text))
        }))
    })
  }
}
