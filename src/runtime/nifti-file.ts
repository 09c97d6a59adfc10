/**
 * NIfTI files on disk: reading (header first, so a bad or oversized file is refused before the
 * rest is read) and writing through `atomicWrite`, so a written mask is never seen half-done.
 */
import { Effect, Either } from "effect"
import { Buffer, constants as bufferConstants } from "node:buffer"
import { constants as fsConstants } from "node:fs"
import * as fs from "node:fs/promises"
import * as zlib from "node:zlib"
import {
  decodeInflated,
  decodeNifti,
  decodeNiftiHeader,
  DEFAULT_GZIP_LEVEL,
  encodeNifti1,
  inflateFailure,
  inflateOptions,
  isGzip,
  NiftiError,
  type NiftiHeaderInfo,
  type NiftiImage,
  type NiftiWriteDatatype
} from "../ops/nifti/index.ts"
import type { Volume } from "../ops/volume.ts"
import { atomicWrite, type WriteError } from "./atomic-write.ts"

export interface ReadNiftiOptions {
  /** Refuse images with more voxels than this (default DEFAULT_MAX_VOXELS, 2^29). */
  readonly maxVoxels?: number
  /** "one" (default): 3D volumes only, as pipelines read them; "any": up to 7D (`rstn inspect`). */
  readonly volumes?: "one" | "any"
}

/** Enough of a file to decode its header, also through gzip (see ops/nifti/gzip.ts). */
const HEADER_PREFIX = 64 << 10
/** One read call moves at most 2 GiB; larger files are read in pieces. */
const READ_PIECE = 1 << 30

const fileError = (file: string, e: unknown): NiftiError => {
  const err = e as NodeJS.ErrnoException
  const known: Record<string, [string, string]> = {
    ENOENT: ["no such file", "check the path (relative paths start at the current directory)"],
    EACCES: ["permission denied", "check the file's permissions"],
    EPERM: ["permission denied", "check the file's permissions"],
    EISDIR: ["is a directory, not a NIfTI file", "name a .nii or .nii.gz file"],
    EMFILE: ["too many open files", "lower the concurrency or raise the open-file limit (ulimit -n)"],
    EIO: ["input/output error while reading", "the disk or network file system failed: check it and retry"]
  }
  const [reason, hint] = known[err.code ?? ""] ?? [err.message, "check that the file is readable"]
  return new NiftiError({ file, field: "file", reason, hint })
}

const readInto = async (handle: fs.FileHandle, target: Uint8Array, from: number): Promise<number> => {
  let at = from
  while (at < target.length) {
    const { bytesRead } = await handle.read(target, at, Math.min(READ_PIECE, target.length - at), at)
    if (bytesRead === 0) break // the file shrank while being read
    at += bytesRead
  }
  return at
}

interface FileBytes {
  readonly bytes: Uint8Array
  readonly header: NiftiHeaderInfo
}

const readBytes = (file: string, options: ReadNiftiOptions): Promise<FileBytes | NiftiError> =>
  (async () => {
    // O_NONBLOCK: a named pipe would otherwise block the open until a writer comes; fstat then
    // says what was opened, and anything but a regular file is refused before it is read.
    const handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK)
    try {
      const stat = await handle.stat()
      if (stat.isDirectory()) return fileError(file, Object.assign(new Error("directory"), { code: "EISDIR" }))
      if (!stat.isFile()) {
        const what = stat.isFIFO() ? "a named pipe (FIFO)" : stat.isCharacterDevice() || stat.isBlockDevice() ? "a device" : "a special file"
        return new NiftiError({ file, field: "file", reason: `it is ${what}, not a NIfTI file`, hint: "name a .nii or .nii.gz file" })
      }
      if (stat.size > bufferConstants.MAX_LENGTH) {
        return new NiftiError({
          file,
          field: "file",
          reason: `is ${stat.size} bytes, more than one buffer holds (${bufferConstants.MAX_LENGTH})`,
          hint: "crop or resample the image, or store it gzipped"
        })
      }
      const prefix = new Uint8Array(Math.min(HEADER_PREFIX, stat.size))
      const prefixEnd = await readInto(handle, prefix, 0)
      const header = decodeNiftiHeader(prefix.subarray(0, prefixEnd), { file, maxVoxels: options.maxVoxels, volumes: options.volumes })
      if (Either.isLeft(header)) return header.left
      // Outside Buffer's pool, so the voxel data starts aligned and can be viewed in place.
      const bytes = Buffer.allocUnsafeSlow(stat.size)
      bytes.set(prefix.subarray(0, prefixEnd))
      const end = await readInto(handle, bytes, prefixEnd)
      return { bytes: bytes.subarray(0, end), header: header.right }
    } finally {
      await handle.close()
    }
  })().catch((e: unknown) => {
    // System errors (with an errno code) are the file's fault; anything else is a bug.
    if (typeof (e as NodeJS.ErrnoException)?.code === "string") return fileError(file, e)
    throw e
  })

/**
 * A file's header alone, from its first 64 KiB (also through gzip): what `rstn export` and
 * `rstn predict` read of the training images to learn their orientation.
 */
export const readNiftiHeaderFile = (file: string, options: ReadNiftiOptions = {}): Effect.Effect<NiftiHeaderInfo, NiftiError> =>
  Effect.flatMap(
    Effect.promise(() =>
      (async (): Promise<NiftiHeaderInfo | NiftiError> => {
        const handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK)
        try {
          const stat = await handle.stat()
          if (!stat.isFile()) return new NiftiError({ file, field: "file", reason: "is not a regular file", hint: "name a .nii or .nii.gz file" })
          const prefix = new Uint8Array(Math.min(HEADER_PREFIX, stat.size))
          const end = await readInto(handle, prefix, 0)
          return Either.getOrElse(decodeNiftiHeader(prefix.subarray(0, end), { file, maxVoxels: options.maxVoxels, volumes: options.volumes }), (e) => e)
        } finally {
          await handle.close()
        }
      })().catch((e: unknown) => {
        if (typeof (e as NodeJS.ErrnoException)?.code === "string") return fileError(file, e)
        throw e
      })
    ),
    (r) => (r instanceof NiftiError ? Effect.fail(r) : Effect.succeed(r))
  )

/** Inflates on libuv's thread pool, so the event loop (and the terminal UI) keeps running. */
const inflate = (file: string, bytes: Uint8Array, header: NiftiHeaderInfo): Promise<Uint8Array | NiftiError> =>
  new Promise((resolve) => {
    zlib.gunzip(bytes, inflateOptions(header), (error, out) =>
      resolve(error ? inflateFailure(error, header, { file }) : new Uint8Array(out.buffer, out.byteOffset, out.byteLength))
    )
  })

/**
 * Reads a .nii or .nii.gz (NIfTI-1 or NIfTI-2). The header is checked first, from the file's
 * first 64 KiB; a .nii.gz is inflated off the main thread. Every failure, from a missing file to
 * a corrupt header, is a NiftiError naming the file and the field.
 */
export const readNiftiFile = (file: string, options: ReadNiftiOptions = {}): Effect.Effect<NiftiImage, NiftiError> =>
  Effect.gen(function* () {
    const read = yield* Effect.promise(() => readBytes(file, options))
    if (read instanceof NiftiError) return yield* Effect.fail(read)
    if (!isGzip(read.bytes)) {
      return yield* decodeNifti(read.bytes, { file, maxVoxels: options.maxVoxels, volumes: options.volumes, adoptBuffer: true })
    }
    const inflated = yield* Effect.promise(() => inflate(file, read.bytes, read.header))
    if (inflated instanceof NiftiError) return yield* Effect.fail(inflated)
    return yield* decodeInflated(inflated, read.header, { file })
  })

export interface WriteNiftiOptions {
  /** The header's descrip field. */
  readonly description?: string
  /** gzip level 0-9 for .gz files (default 6). */
  readonly level?: number
}

/**
 * Writes `volume` as NIfTI-1 with its geometry: gzipped when `file` ends in `.gz` (masks as
 * uint8, images as int16 or float32). Compression runs off the main thread; the file appears
 * whole or not at all.
 */
export const writeNiftiFile = (
  file: string,
  volume: Volume,
  datatype: NiftiWriteDatatype,
  options: WriteNiftiOptions = {}
): Effect.Effect<void, WriteError> =>
  Effect.gen(function* () {
    const raw = encodeNifti1(volume, datatype, { gzip: false, description: options.description })
    const bytes = file.endsWith(".gz")
      ? yield* Effect.promise(
          () =>
            new Promise<Uint8Array>((resolve, reject) =>
              zlib.gzip(raw, { level: options.level ?? DEFAULT_GZIP_LEVEL }, (error, out) => (error ? reject(error) : resolve(out)))
            )
        )
      : raw
    yield* atomicWrite(file, bytes)
  })
