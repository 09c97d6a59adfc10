/**
 * Bounded gunzip for NIfTI: the header is read from the first bytes of the stream before
 * anything large is inflated, and the whole stream is inflated once, into one buffer of the
 * size the header declares, so a gzip bomb or a lying header cannot exhaust memory.
 */
import * as zlib from "node:zlib"

export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b

/** A zlib failure, with zlib's own words (e.g. "incorrect header check"). */
export class GunzipFailure {
  constructor(
    readonly reason: string,
    /** True when the stream is cut short rather than corrupt. */
    readonly truncated: boolean
  ) {}
}

/** The headers fit in this much compressed input unless the gzip member header is absurd. */
const PREFIX_STEPS = [4 << 10, 64 << 10]

/** zlib's errors carry a Z_* code; anything else (e.g. allocation failure) is rethrown. */
const failureOf = (e: unknown): GunzipFailure => {
  const err = e as NodeJS.ErrnoException
  if (typeof err?.code !== "string" || !err.code.startsWith("Z_")) throw e
  return new GunzipFailure(err.message, err.code === "Z_BUF_ERROR")
}

/**
 * At least `want` bytes from the start of the decompressed stream (fewer only if the stream is
 * shorter). Inflates a bounded prefix of the input: deflate expands at most ~1032x, so at most
 * ~64 MiB is produced whatever the file claims.
 */
export const gunzipPrefix = (bytes: Uint8Array, want: number): Uint8Array | GunzipFailure => {
  let out: Uint8Array = new Uint8Array(0)
  for (const step of PREFIX_STEPS) {
    const input = bytes.subarray(0, Math.min(step, bytes.length))
    try {
      // Z_SYNC_FLUSH: return what the prefix decodes to instead of failing at its cut end.
      out = zlib.gunzipSync(input, { finishFlush: zlib.constants.Z_SYNC_FLUSH })
    } catch (e) {
      return failureOf(e)
    }
    if (out.length >= want || input.length === bytes.length) return out
  }
  return out
}

/**
 * zlib options to inflate a whole stream whose header declares `expected` bytes: the output
 * buffer is sized to hold it in one piece (no chunk list, no concatenation copy); up to `slack`
 * trailing bytes are tolerated, more is refused before they are all inflated; a stream cut
 * short yields what it holds (Z_SYNC_FLUSH), for the caller to compare with `expected`.
 * The same options serve the synchronous and the asynchronous (thread-pool) zlib calls.
 */
export const gunzipAllOptions = (expected: number, slack: number): zlib.ZlibOptions => ({
  finishFlush: zlib.constants.Z_SYNC_FLUSH,
  // One byte more than expected so an exact-size stream never asks for a second chunk.
  chunkSize: Math.max(zlib.constants.Z_MIN_CHUNK, expected + 1),
  maxOutputLength: expected + slack
})

/** What a zlib call with `gunzipAllOptions` threw; anything not from zlib is rethrown. */
export const classifyGunzipError = (e: unknown): GunzipFailure | { readonly tooLarge: true } =>
  (e as NodeJS.ErrnoException)?.code === "ERR_BUFFER_TOO_LARGE" ? { tooLarge: true } : failureOf(e)

/** The whole decompressed stream (see `gunzipAllOptions`), or why not. */
export const gunzipAll = (
  bytes: Uint8Array,
  expected: number,
  slack: number
): Uint8Array | GunzipFailure | { readonly tooLarge: true } => {
  try {
    return zlib.gunzipSync(bytes, gunzipAllOptions(expected, slack))
  } catch (e) {
    return classifyGunzipError(e)
  }
}
