/**
 * Raw tensor bytes to float32 values, for the element types PyTorch and safetensors files hold.
 * Weights are float32 in rstn; other types are converted (half and bfloat16 exactly, float64
 * and 64-bit integers rounded) so that `weights inspect` can show any file.
 */

export const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1
}

const halfToFloat = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >> 10) & 0x1f
  const frac = h & 0x3ff
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024)
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN
  return sign * 2 ** (exp - 15) * (1 + frac / 1024)
}

/** `count` elements of `dtype` starting at `bytes[0]`; `bytes` must hold them all. */
export const decodeElements = (bytes: Uint8Array, dtype: string, count: number, littleEndian: boolean): Float32Array => {
  const size = ELEMENT_BYTES[dtype]
  if (size === undefined) throw new RangeError(`element type ${dtype}`)
  const out = new Float32Array(count)
  const native = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
  if (dtype === "float32" && littleEndian === native) {
    new Uint8Array(out.buffer).set(bytes.subarray(0, 4 * count))
    return out
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const le = littleEndian
  switch (dtype) {
    case "float32":
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, le)
      break
    case "float64":
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, le)
      break
    case "float16":
      for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(2 * i, le))
      break
    case "bfloat16": {
      const word = new DataView(new ArrayBuffer(4))
      for (let i = 0; i < count; i++) {
        word.setUint32(0, dv.getUint16(2 * i, le) << 16)
        out[i] = word.getFloat32(0)
      }
      break
    }
    case "int64":
      for (let i = 0; i < count; i++) out[i] = Number(dv.getBigInt64(8 * i, le))
      break
    case "int32":
      for (let i = 0; i < count; i++) out[i] = dv.getInt32(4 * i, le)
      break
    case "int16":
      for (let i = 0; i < count; i++) out[i] = dv.getInt16(2 * i, le)
      break
    case "int8":
      for (let i = 0; i < count; i++) out[i] = dv.getInt8(i)
      break
    default: // uint8, bool
      for (let i = 0; i < count; i++) out[i] = bytes[i]!
  }
  return out
}

/**
 * The row-major (contiguous) copy of a strided view: element [i0, i1, ...] of the view is
 * `values[offset + sum(ik * stride[k])]`.
 */
export const gatherStrided = (values: Float32Array, offset: number, shape: ReadonlyArray<number>, stride: ReadonlyArray<number>): Float32Array => {
  const n = shape.reduce((a, b) => a * b, 1)
  const out = new Float32Array(n)
  const rank = shape.length
  const index = new Array<number>(rank).fill(0)
  let src = offset
  for (let i = 0; i < n; i++) {
    out[i] = values[src]!
    for (let k = rank - 1; k >= 0; k--) {
      index[k]!++
      src += stride[k]!
      if (index[k]! < shape[k]!) break
      src -= stride[k]! * shape[k]!
      index[k] = 0
    }
  }
  return out
}
