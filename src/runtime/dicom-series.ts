/**
 * DICOM series on disk: every file under a directory (subdirectories too, as NIH Pancreas-CT
 * nests `PANCREAS_0001/<study>/<series>/*.dcm`), decoded and assembled into one volume, and the
 * series' fingerprint for the run's cache keys. Writing a series puts its files in a hidden
 * temporary directory renamed into place, so a series is seen whole or not at all.
 */
import { Effect, Either } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { assembleSeries, type DicomSeries, type DicomSlice, DicomError, decodeSlice, isPart10, type DicomFile } from "../ops/dicom/index.ts"
import { hintFor, WriteError } from "./atomic-write.ts"

export interface ReadSeriesOptions {
  readonly maxVoxels?: number
}

/** Files under `dir`, sorted, hidden entries (names starting with '.') left out. */
const listFiles = async (dir: string): Promise<string[]> => {
  const out: string[] = []
  const walk = async (d: string): Promise<void> => {
    const entries = await fs.readdir(d, { withFileTypes: true })
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const e of entries) {
      if (e.name.startsWith(".")) continue
      const full = path.join(d, e.name)
      if (e.isDirectory()) await walk(full)
      else if (e.isFile()) out.push(full)
    }
  }
  await walk(dir)
  return out
}

const dirError = (dir: string, e: unknown): DicomError => {
  const code = (e as NodeJS.ErrnoException).code
  return new DicomError({
    dir,
    reason: code === "ENOENT" ? "no such directory" : code === "ENOTDIR" ? "is a file, not a series directory" : `cannot be read (${code ?? String(e)})`,
    hint: code === "ENOENT" ? "check the path (relative paths start at the pipeline file's directory)" : "name the directory that holds the series' .dcm files"
  })
}

/** Whether `p` is a directory (a DICOM series) rather than a file. */
export const isDirectory = (p: string): Effect.Effect<boolean> =>
  Effect.promise(() =>
    fs.stat(p).then(
      (s) => s.isDirectory(),
      () => false
    )
  )

/**
 * Reads the series under `dir`. Files that are not DICOM Part 10 are skipped unless named
 * `*.dcm`, and DICOM objects that are no image (a DICOMDIR) are skipped; every other fault is
 * a DicomError naming the directory, the file and the fault.
 */
export const readDicomSeries = (dir: string, options: ReadSeriesOptions = {}): Effect.Effect<DicomSeries, DicomError> =>
  Effect.gen(function* () {
    const files = yield* Effect.tryPromise({ try: () => listFiles(dir), catch: (e) => dirError(dir, e) })
    const slices: DicomSlice[] = []
    // A few files at a time: each is read whole (a 512x512 slice is about half a megabyte).
    const decoded = yield* Effect.forEach(
      files,
      (file) =>
        Effect.tryPromise({
          try: () => fs.readFile(file),
          catch: (e) => new DicomError({ dir, file: path.relative(dir, file), reason: `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, hint: "check the file's permissions" })
        }).pipe(
          Effect.flatMap((bytes) => {
            if (!isPart10(bytes)) {
              return /\.dcm$/i.test(file)
                ? Effect.fail(
                    new DicomError({
                      dir,
                      file: path.relative(dir, file),
                      reason: "is not a DICOM Part 10 file (no 'DICM' after the 128-byte preamble)",
                      hint: "the file is damaged or not DICOM: copy it again, or remove it (rstn ignores files that are not named .dcm and are not DICOM)"
                    })
                  )
                : Effect.succeed(undefined)
            }
            const one = decodeSlice(bytes, file, dir)
            return Either.isLeft(one)
              ? Effect.fail(new DicomError({ ...one.left, file: path.relative(dir, file) }))
              : Effect.succeed("skipped" in one.right ? undefined : one.right)
          })
        ),
      { concurrency: 4 }
    )
    for (const s of decoded) if (s !== undefined) slices.push(s)
    if (slices.length === 0) {
      return yield* new DicomError({
        dir,
        reason: files.length === 0 ? "is empty" : `holds no DICOM image among its ${files.length} files`,
        hint: "name the directory of a series: the one holding its .dcm files, or a directory above it"
      })
    }
    const series = assembleSeries(dir, slices, options)
    if (Either.isLeft(series)) {
      const e = series.left
      return yield* new DicomError({ ...e, ...(e.file !== undefined ? { file: path.relative(dir, e.file) } : {}) })
    }
    return series.right
  })

/**
 * The fingerprint of a series directory: its files' count, total size and latest modification
 * time (changing, adding or removing a slice changes it), or null when it is no directory.
 */
export const seriesStamp = (dir: string): Effect.Effect<string | null> =>
  Effect.promise(async () => {
    try {
      const files = await listFiles(dir)
      let size = 0
      let latest = 0
      for (const f of files) {
        const s = await fs.stat(f)
        size += s.size
        latest = Math.max(latest, Math.round(s.mtimeMs))
      }
      return files.length === 0 ? null : `${files.length}:${size}:${latest}`
    } catch {
      return null
    }
  })

/**
 * Writes a series' files into `dir`, which must not exist yet: into a hidden sibling first, then
 * renamed, so a reader never sees half a series.
 */
export const writeDicomSeries = (dir: string, files: ReadonlyArray<DicomFile>): Effect.Effect<void, WriteError> =>
  Effect.tryPromise({
    try: async () => {
      const parent = path.dirname(dir)
      await fs.mkdir(parent, { recursive: true })
      const temp = await fs.mkdtemp(path.join(parent, `.${path.basename(dir)}.tmp-`))
      try {
        for (const f of files) await fs.writeFile(path.join(temp, f.name), f.bytes)
        await fs.rename(temp, dir)
      } catch (e) {
        await fs.rm(temp, { recursive: true, force: true })
        throw e
      }
    },
    catch: (e) => {
      const err = e as NodeJS.ErrnoException
      return new WriteError({ file: dir, reason: err.code ?? String(e), hint: hintFor(err.code) ?? "check that the directory is writable" })
    }
  })
