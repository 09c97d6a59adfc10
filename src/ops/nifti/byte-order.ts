/** Byte order of this machine, and reversing the byte order of packed values in place. */

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const bswap32 = (x: number): number =>
  ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)

/**
 * Reverses the byte order of each `width`-byte value (2, 4 or 8) in `bytes`, in place.
 * Works through 16/32-bit words when the bytes are aligned, byte by byte otherwise.
 */
export const swapBytesInPlace = (bytes: Uint8Array, width: number): void => {
  const n = Math.floor(bytes.length / width)
  if (width === 1 || n === 0) return
  const aligned = bytes.byteOffset % 4 === 0
  if (width === 2 && bytes.byteOffset % 2 === 0) {
    const w = new Uint16Array(bytes.buffer, bytes.byteOffset, n)
    for (let i = 0; i < n; i++) {
      const x = w[i]!
      w[i] = (x >>> 8) | ((x & 0xff) << 8)
    }
    return
  }
  if (width === 4 && aligned) {
    const w = new Uint32Array(bytes.buffer, bytes.byteOffset, n)
    for (let i = 0; i < n; i++) w[i] = bswap32(w[i]!)
    return
  }
  if (width === 8 && aligned) {
    const w = new Uint32Array(bytes.buffer, bytes.byteOffset, 2 * n)
    for (let i = 0; i < 2 * n; i += 2) {
      const lo = w[i]!
      w[i] = bswap32(w[i + 1]!)
      w[i + 1] = bswap32(lo)
    }
    return
  }
  for (let i = 0; i < n * width; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a]!
      bytes[a] = bytes[b]!
      bytes[b] = t
    }
  }
}
