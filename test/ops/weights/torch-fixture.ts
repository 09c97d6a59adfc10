/**
 * torch.save files written without Python, for the tests that must run on any machine: the
 * pickle bytes torch.save emits for a state dict (an OrderedDict of `_rebuild_tensor_v2` calls
 * on persistent-id storages), zipped as `archive/data.pkl` + `archive/data/<key>` with
 * `archive/byteorder`; and pickles that reach for other globals.
 */
import { zipSync } from "fflate"

export interface FixtureTensor {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array
}

class PickleWriter {
  private readonly parts: number[] = []
  op(...bytes: number[]): this {
    this.parts.push(...bytes)
    return this
  }
  text(s: string): this {
    const b = new TextEncoder().encode(s)
    const n = new Uint8Array(new Uint32Array([b.length]).buffer)
    return this.op(0x58, ...n, ...b) // BINUNICODE
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`))
  }
  int(v: number): this {
    return this.op(0x4a, ...new Uint8Array(new Int32Array([v]).buffer)) // BININT
  }
  ints(vs: ReadonlyArray<number>): this {
    this.op(0x28) // MARK
    for (const v of vs) this.int(v)
    return this.op(0x74) // TUPLE
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts)
  }
}

/** The pickle of an OrderedDict of float32 tensors, storage i holding tensor i. */
export const stateDictPickle = (tensors: ReadonlyArray<FixtureTensor>, storageType = "FloatStorage"): Uint8Array => {
  const w = new PickleWriter().op(0x80, 2).global("collections", "OrderedDict").op(0x29, 0x52) // PROTO 2, (), REDUCE
  tensors.forEach((t, i) => {
    const stride = t.shape.map((_, k) => t.shape.slice(k + 1).reduce((a, b) => a * b, 1))
    w.text(t.name).global("torch._utils", "_rebuild_tensor_v2").op(0x28) // MARK (args)
    w.op(0x28).text("storage").global("torch", storageType).text(String(i)).text("cpu").int(t.data.length).op(0x74, 0x51) // pid tuple, BINPERSID
    w.int(0).ints(t.shape).ints(stride).op(0x89) // offset, size, stride, requires_grad=False
    w.global("collections", "OrderedDict").op(0x29, 0x52) // backward hooks
    w.op(0x74, 0x52, 0x73) // TUPLE, REDUCE, SETITEM
  })
  return w.op(0x2e).bytes()
}

/** A torch.save zip of `tensors` (as PyTorch >= 1.6 writes it, entries stored uncompressed). */
export const torchZip = (tensors: ReadonlyArray<FixtureTensor>, pickle = stateDictPickle(tensors)): Uint8Array => {
  const entries: Record<string, Uint8Array> = {
    "archive/data.pkl": pickle,
    "archive/byteorder": new TextEncoder().encode("little")
  }
  tensors.forEach((t, i) => {
    entries[`archive/data/${i}`] = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
  })
  entries["archive/version"] = new TextEncoder().encode("3\n")
  return zipSync(entries, { level: 0 })
}

/** A pickle that calls os.system("echo pwned") when Python loads it (GLOBAL posix system, REDUCE). */
export const osSystemPickle = (): Uint8Array => new PickleWriter().op(0x80, 2).global("posix", "system").text("echo pwned").op(0x85, 0x52, 0x2e).bytes()

/** A safetensors file of float32 tensors. */
export const safetensorsFile = (tensors: ReadonlyArray<FixtureTensor>): Uint8Array => {
  let offset = 0
  const header: Record<string, unknown> = {}
  for (const t of tensors) {
    header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] }
    offset += t.data.byteLength
  }
  const json = new TextEncoder().encode(JSON.stringify(header))
  const out = new Uint8Array(8 + json.length + offset)
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true)
  out.set(json, 8)
  let at = 8 + json.length
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at)
    at += t.data.byteLength
  }
  return out
}

/** Deterministic values in [-scale, scale]. */
export const ramp = (n: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1) * scale)

/** torchvision VGG16's state dict names and PyTorch shapes at 1/16 of the channels (4..32, fc 256). */
export const smallVgg16 = (): FixtureTensor[] => {
  const blocks = [[4, 2], [8, 2], [16, 3], [32, 3], [32, 3]] as const
  const out: FixtureTensor[] = []
  let index = 0
  let cin = 3
  for (const [c, n] of blocks) {
    for (let i = 0; i < n; i++) {
      out.push({ name: `features.${index}.weight`, shape: [c, cin, 3, 3], data: ramp(c * cin * 9, 0.1) })
      out.push({ name: `features.${index}.bias`, shape: [c], data: ramp(c, 0.01) })
      cin = c
      index += 2
    }
    index += 1
  }
  out.push({ name: "classifier.0.weight", shape: [256, 32 * 49], data: ramp(256 * 32 * 49, 0.01) })
  out.push({ name: "classifier.0.bias", shape: [256], data: ramp(256) })
  out.push({ name: "classifier.3.weight", shape: [256, 256], data: ramp(256 * 256, 0.01) })
  out.push({ name: "classifier.3.bias", shape: [256], data: ramp(256) })
  out.push({ name: "classifier.6.weight", shape: [1000, 256], data: ramp(256 * 1000) })
  out.push({ name: "classifier.6.bias", shape: [1000], data: ramp(1000) })
  return out
}
