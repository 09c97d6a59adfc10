/**
 * safetensors files (huggingface/safetensors, format of version 0.x): an 8-byte little-endian
 * header length N, N bytes of JSON `{ name: { dtype, shape, data_offsets: [begin, end] },
 * __metadata__? }`, then the tensors' little-endian bytes, offsets relative to the data start.
 * The format is a dozen lines to read and the npm packages around it fetch from the Hub, so
 * this is our own reader.
 */
import { Either } from "effect"
import { decodeElements, ELEMENT_BYTES } from "./elements.ts"
import { type SourceTensor, WeightsFileError } from "./weights-error.ts"

const DTYPES: Readonly<Record<string, string>> = {
  F64: "float64",
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
  I64: "int64",
  I32: "int32",
  I16: "int16",
  I8: "int8",
  U8: "uint8",
  BOOL: "bool"
}

/** The header is JSON and starts with `{` right after the length (the format forbids leading padding). */
export const isSafetensors = (bytes: Uint8Array): boolean => {
  if (bytes.length < 9 || bytes[8] !== 0x7b) return false
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true)
  return n >= 2n && n <= BigInt(bytes.length - 8)
}

const HINT = "write the file again (safetensors.torch.save_file(model.state_dict(), FILE))"

export const readSafetensors = (bytes: Uint8Array, file: string): Either.Either<SourceTensor[], WeightsFileError> => {
  const fail = (reason: string, tensor?: string) =>
    Either.left(new WeightsFileError({ file, reason, hint: HINT, ...(tensor === undefined ? {} : { tensor }) }))
  if (bytes.length < 8) return fail("shorter than the 8-byte safetensors header length: truncated")
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true))
  if (8 + n > bytes.length) return fail(`header of ${n} bytes runs past the end of the file (${bytes.length} bytes): truncated`)
  let header: unknown
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)))
  } catch (e) {
    return fail(`the header is not valid JSON (${String(e)})`)
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) return fail("the header is not a JSON object")
  const data = bytes.subarray(8 + n)
  const tensors: SourceTensor[] = []
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") continue
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
    const dtype = typeof e?.dtype === "string" ? DTYPES[e.dtype] : undefined
    if (dtype === undefined) return fail(`element type ${JSON.stringify(e?.dtype)} is not one rstn reads (${Object.keys(DTYPES).join(", ")})`, name)
    const shape = e.shape
    const offsets = e.data_offsets
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) return fail("its shape is not a list of sizes", name)
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isInteger(d) && d >= 0)) return fail("its data_offsets are not [begin, end]", name)
    const count = (shape as number[]).reduce((a, b) => a * b, 1)
    const [begin, end] = offsets as [number, number]
    if (end - begin !== count * ELEMENT_BYTES[dtype]!) return fail(`its data_offsets span ${end - begin} bytes, its shape [${shape.join(",")}] of ${dtype} needs ${count * ELEMENT_BYTES[dtype]!}`, name)
    if (end > data.length) return fail(`its data ends at byte ${end} of a data section of ${data.length} bytes: the file is truncated`, name)
    tensors.push({ name, dtype, shape: shape as number[], data: decodeElements(data.subarray(begin, end), dtype, count, true) })
  }
  if (tensors.length === 0) return fail("it holds no tensors")
  return Either.right(tensors)
}
