/**
 * `Slice` for the wasm backend on float32 tensors: the crops of the fine network's input and
 * their gradients (slices of full-size [N, H, W, 3] maps). The stock kernel first copies the whole
 * input out of the heap (`readSync`) and then walks it; here each run of the slice that is
 * contiguous in memory (a row of W·C floats when the last axes are whole) is one copy on the
 * heap. Other dtypes go to the stock kernel.
 */
import * as tf from "@tensorflow/tfjs"
import { asWasm, copyRun, heapF32, type Info, offsetOf } from "./wasm-kernel-utils.ts"

/** Copies the block `size` at `begin` of a row-major `shape` from `src` to `dst` (element offsets in `mem`). */
export const sliceInto = (
  mem: Float32Array,
  src: number,
  dst: number,
  shape: ReadonlyArray<number>,
  begin: ReadonlyArray<number>,
  size: ReadonlyArray<number>
): void => {
  const rank = shape.length
  // Merge trailing axes taken whole into one contiguous run.
  let inner = Math.max(rank - 1, 0)
  let run = size[inner] ?? 1
  while (inner > 0 && size[inner] === shape[inner] && begin[inner] === 0) {
    inner--
    run *= size[inner]!
  }
  const strides = tf.util.computeStrides([...shape])
  const outer = size.slice(0, inner)
  const count = outer.reduce((a, b) => a * b, 1)
  const index = new Array<number>(inner).fill(0)
  for (let r = 0; r < count; r++) {
    let from = src
    for (let a = 0; a < inner; a++) from += (begin[a]! + index[a]!) * strides[a]!
    from += (begin[inner] ?? 0) * (inner < rank - 1 ? strides[inner]! : 1)
    copyRun(mem, dst + r * run, from, run)
    for (let a = inner - 1; a >= 0; a--) {
      if (++index[a]! < outer[a]!) break
      index[a] = 0
    }
  }
}

export const sliceKernel =
  (stock: tf.KernelFunc | undefined): tf.KernelFunc =>
  (args) => {
    const { x } = args.inputs as { x: Info }
    if (x.dtype !== "float32") {
      if (stock === undefined) throw new Error(`Slice: the stock wasm kernel is missing for ${x.dtype}`)
      return stock(args)
    }
    const backend = asWasm(args.backend)
    const attrs = args.attrs as unknown as tf.SliceAttrs
    const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, attrs.begin, attrs.size)
    const out = backend.makeOutput([...size], "float32")
    if (tf.util.sizeFromShape([...size]) > 0) sliceInto(heapF32(backend), offsetOf(backend, x), offsetOf(backend, out), x.shape, begin, size)
    return out
  }
