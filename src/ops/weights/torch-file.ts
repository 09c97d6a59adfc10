/**
 * PyTorch weight files, read without Python: the zip format `torch.save` writes since PyTorch
 * 1.6 (`<archive>/data.pkl`, the storages as `<archive>/data/<key>`, `<archive>/byteorder`) and
 * the legacy stream of PyTorch 0.4-1.5 that the release's PyTorch port saved its models in
 * (magic number, protocol, system info and object pickles, the storage keys, then each
 * storage's element count and bytes). The object is read with the restricted unpickler, so a
 * file can hold tensors in (nested) dicts and lists, and nothing else gets executed.
 */
import { Either } from "effect"
import { unzipSync } from "fflate"
import { decodeElements, ELEMENT_BYTES, gatherStrided } from "./elements.ts"
import { PickleFault, type StorageRef, type TensorRef, unpickle } from "./pickle.ts"
import { type SourceTensor, WeightsFileError } from "./weights-error.ts"

const RESAVE = "save it again with torch.save(model.state_dict(), FILE) (or convert it with safetensors.torch.save_file)"

/** The zip signature: torch.save's default container since PyTorch 1.6. */
export const isZip = (bytes: Uint8Array): boolean => bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04

/** A pickle (protocol 2+) at the start: the legacy torch.save stream. */
export const isLegacyTorch = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! >= 2 && bytes[1]! <= 5

/** Storage bytes by key, plus their byte order. */
interface Storages {
  readonly bytes: (key: string) => Uint8Array | undefined
  readonly littleEndian: boolean
}

class Fault {
  constructor(
    readonly reason: string,
    readonly hint: string,
    readonly tensor?: string
  ) {}
}

const isTensor = (u: unknown): u is TensorRef => typeof u === "object" && u !== null && (u as TensorRef)._kind === "tensor"

/** Tensors under dotted names (`features.0.weight`; nested dicts and lists join with dots). */
const collect = (value: unknown, prefix: string, out: Array<[string, TensorRef]>): void => {
  if (isTensor(value)) out.push([prefix, value])
  else if (value instanceof Map) for (const [k, v] of value) collect(v, prefix === "" ? String(k) : `${prefix}.${String(k)}`, out)
  else if (Array.isArray(value)) value.forEach((v, i) => collect(v, prefix === "" ? String(i) : `${prefix}.${i}`, out))
}

const materialise = (name: string, t: TensorRef, storages: Storages): SourceTensor => {
  const { storage } = t
  const raw = storages.bytes(storage.key)
  if (raw === undefined) throw new Fault(`its storage ${storage.key} is missing from the file: truncated or damaged`, "download or save it again", name)
  const elementBytes = ELEMENT_BYTES[storage.dtype]!
  const have = Math.floor(raw.length / elementBytes)
  if (have < storage.numel) {
    throw new Fault(`its storage ${storage.key} holds ${have} of ${storage.numel} ${storage.dtype} values: the file is truncated`, "download or save it again", name)
  }
  const n = t.shape.reduce((a, b) => a * b, 1)
  const last = n === 0 ? t.offset : t.offset + t.shape.reduce((acc, d, k) => acc + (d - 1) * t.stride[k]!, 0)
  if (t.offset < 0 || last >= Math.max(storage.numel, 1) || t.stride.length !== t.shape.length) {
    throw new Fault(`its view (offset ${t.offset}, shape [${t.shape.join(",")}], stride [${t.stride.join(",")}]) reaches past its storage of ${storage.numel} values`, RESAVE, name)
  }
  const contiguous = t.stride.every((s, k) => s === t.shape.slice(k + 1).reduce((a, b) => a * b, 1) || t.shape[k] === 1)
  if (contiguous) {
    const data = decodeElements(raw.subarray(t.offset * elementBytes), storage.dtype, n, storages.littleEndian)
    return { name, dtype: storage.dtype, shape: [...t.shape], data }
  }
  const values = decodeElements(raw, storage.dtype, storage.numel, storages.littleEndian)
  return { name, dtype: storage.dtype, shape: [...t.shape], data: gatherStrided(values, t.offset, t.shape, t.stride) }
}

const tensorsOf = (root: unknown, storages: Storages): SourceTensor[] => {
  const refs: Array<[string, TensorRef]> = []
  collect(root, "", refs)
  if (refs.length === 0) throw new Fault("it holds no tensors", "save a state dict: torch.save(model.state_dict(), FILE)")
  return refs.map(([name, t]) => materialise(name, t, storages))
}

const pickleFault = (e: unknown): Fault => {
  if (e instanceof PickleFault) {
    return new Fault(
      e.global !== undefined ? `${e.reason}: it could run code, so the file is not loaded` : `cannot read its pickle: ${e.reason}`,
      e.global !== undefined
        ? "rstn reads state dicts of tensors only; load the file in Python only if you trust it, then torch.save(model.state_dict(), FILE) or save it as safetensors"
        : RESAVE
    )
  }
  throw e
}

const LOCAL_HEADER = 0x04034b50
const CENTRAL_HEADER = 0x02014b50
const DESCRIPTOR = 0x08074b50

/**
 * Where an uncompressed entry written with a data descriptor (general-purpose flag bit 3, as
 * PyTorch's zip writer does: sizes 0 in the local header) ends: at the first descriptor signature
 * whose recorded size (32-bit, or the low half of zip64's 64-bit one) is the distance from the
 * entry's start, so a signature inside the data cannot pass. Returns the data's end and the next
 * header's position, or null when the entry was cut off.
 */
const descriptorEnd = (bytes: Uint8Array, dv: DataView, start: number): { end: number; next: number } | null => {
  for (let p = bytes.indexOf(0x50, start); p >= 0 && p + 16 <= bytes.length; p = bytes.indexOf(0x50, p + 1)) {
    if (dv.getUint32(p, true) !== DESCRIPTOR || dv.getUint32(p + 8, true) !== (p - start) >>> 0) continue
    const zip64 = p + 24 <= bytes.length && dv.getUint32(p + 16, true) !== LOCAL_HEADER && dv.getUint32(p + 16, true) !== CENTRAL_HEADER
    return { end: p, next: p + (zip64 ? 24 : 16) }
  }
  return null
}

/**
 * The entries of a zip whose central directory is gone (a truncated download), read from their
 * local headers in file order. torch.save stores entries uncompressed, data.pkl first, with
 * their sizes in the local header or (PyTorch's own writer) in a data descriptor after the data,
 * so what survives can be read and the first tensor whose storage was cut off can be named. The
 * last entry may be short.
 */
const localEntries = (bytes: Uint8Array): Record<string, Uint8Array> => {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const entries: Record<string, Uint8Array> = {}
  let pos = 0
  while (pos + 30 <= bytes.length && dv.getUint32(pos, true) === LOCAL_HEADER) {
    const flags = dv.getUint16(pos + 6, true)
    const method = dv.getUint16(pos + 8, true)
    const size = dv.getUint32(pos + 18, true)
    const nameLength = dv.getUint16(pos + 26, true)
    const extraLength = dv.getUint16(pos + 28, true)
    const name = new TextDecoder().decode(bytes.subarray(pos + 30, pos + 30 + nameLength))
    const start = pos + 30 + nameLength + extraLength
    if (method !== 0 || start > bytes.length) break
    if ((flags & 0x8) !== 0) {
      const found = descriptorEnd(bytes, dv, start)
      entries[name] = bytes.subarray(start, found?.end ?? bytes.length)
      if (found === null) break
      pos = found.next
      continue
    }
    if (size === 0xffffffff) break
    entries[name] = bytes.subarray(start, Math.min(start + size, bytes.length))
    pos = start + size
  }
  return entries
}

const readZip = (bytes: Uint8Array): SourceTensor[] => {
  let entries: Record<string, Uint8Array>
  let complete = true
  try {
    entries = unzipSync(bytes)
  } catch {
    entries = localEntries(bytes)
    complete = false
  }
  const pkl = Object.keys(entries).find((n) => n === "data.pkl" || n.endsWith("/data.pkl"))
  if (pkl === undefined) {
    throw complete
      ? new Fault("a zip archive without data.pkl: not a torch.save file", RESAVE)
      : new Fault("not a complete zip archive (no central directory, no readable data.pkl): the file is truncated or damaged", "download or save it again")
  }
  const prefix = pkl.slice(0, pkl.length - "data.pkl".length)
  const order = entries[`${prefix}byteorder`]
  const littleEndian = order === undefined || new TextDecoder().decode(order).trim() !== "big"
  let root: unknown
  try {
    root = unpickle(entries[pkl]!).value
  } catch (e) {
    throw pickleFault(e)
  }
  const tensors = tensorsOf(root, { bytes: (key) => entries[`${prefix}data/${key}`], littleEndian })
  if (!complete) throw new Fault("the zip archive's central directory is missing: the file is truncated", "download or save it again")
  return tensors
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn

const readLegacy = (bytes: Uint8Array): SourceTensor[] => {
  let root: unknown
  let keys: unknown
  let pos = 0
  let littleEndian = true
  try {
    const magic = unpickle(bytes, pos)
    if (magic.value !== LEGACY_MAGIC) throw new Fault("a pickle, but not one torch.save wrote (no torch magic number)", RESAVE)
    const protocol = unpickle(bytes, magic.end)
    if (protocol.value !== 1001) throw new Fault(`legacy torch format version ${String(protocol.value)}, rstn reads 1001`, RESAVE)
    const sysInfo = unpickle(bytes, protocol.end)
    if (sysInfo.value instanceof Map && sysInfo.value.get("little_endian") === false) littleEndian = false
    const object = unpickle(bytes, sysInfo.end)
    root = object.value
    const list = unpickle(bytes, object.end)
    keys = list.value
    pos = list.end
  } catch (e) {
    if (e instanceof Fault) throw e
    throw pickleFault(e)
  }
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) throw new Fault("the storage key list is damaged", RESAVE)
  // Storage sizes come from the pickle's persistent ids; the stream repeats each count.
  const refs: Array<[string, TensorRef]> = []
  collect(root, "", refs)
  const dtypeOf = new Map<string, StorageRef>(refs.map(([, t]) => [t.storage.key, t.storage]))
  const chunks = new Map<string, Uint8Array>()
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (const key of keys as string[]) {
    const s = dtypeOf.get(key)
    if (pos + 8 > bytes.length) break
    const count = Number(dv.getBigInt64(pos, littleEndian))
    pos += 8
    const size = count * (s ? ELEMENT_BYTES[s.dtype]! : 1)
    chunks.set(key, bytes.subarray(pos, Math.min(pos + size, bytes.length)))
    pos += size
  }
  return tensorsOf(root, { bytes: (key) => chunks.get(key), littleEndian })
}

/** Every tensor of a torch.save file (zip or legacy), under its dotted state-dict name. */
export const readTorchFile = (bytes: Uint8Array, file: string): Either.Either<SourceTensor[], WeightsFileError> => {
  try {
    if (isZip(bytes)) return Either.right(readZip(bytes))
    if (isLegacyTorch(bytes)) return Either.right(readLegacy(bytes))
    return Either.left(new WeightsFileError({ file, reason: "neither a zip archive nor a pickle: not a torch.save file", hint: RESAVE }))
  } catch (e) {
    if (e instanceof Fault) return Either.left(new WeightsFileError({ file, reason: e.reason, hint: e.hint, ...(e.tensor === undefined ? {} : { tensor: e.tensor }) }))
    throw e
  }
}
