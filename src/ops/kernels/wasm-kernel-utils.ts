/**
 * What a kernel written for the wasm backend needs: run another registered wasm kernel
 * (Conv2D, Transpose, ...) on tensor infos from inside a kernel function, free the
 * intermediates, and copy blocks of float32 data on the wasm heap.
 *
 * Kernels composed this way never create `tf.Tensor`s, so they stay invisible to the engine's
 * bookkeeping (gradient tape, `tf.memory()`): every intermediate must be freed with `free`.
 */
import * as tf from "@tensorflow/tfjs"
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm"

export type Info = tf.TensorInfo

/** The backend object tfjs passes to a kernel registered for "wasm". */
export const asWasm = (backend: unknown): BackendWasm => backend as BackendWasm

/** Runs the kernel `name` currently registered for wasm; it must return a single tensor. */
export const run = (
  backend: BackendWasm,
  name: string,
  inputs: Record<string, Info>,
  attrs: Record<string, unknown> = {}
): Info => {
  const config = tf.getKernel(name, "wasm")
  if (config === undefined) throw new Error(`kernel ${name} is not registered for wasm`)
  const out = config.kernelFunc({ inputs, attrs: attrs as tf.NamedAttrMap, backend })
  if (Array.isArray(out)) throw new Error(`kernel ${name} returned ${out.length} tensors, expected 1`)
  return out
}

/** Frees intermediates created inside a kernel (never the kernel's inputs or its result). */
export const free = (backend: BackendWasm, ...infos: ReadonlyArray<Info | undefined>): void => {
  for (const info of infos) if (info !== undefined) backend.disposeData(info.dataId)
}

/**
 * A float32 view of a tensor's memory on the wasm heap. Allocating (makeOutput, running a
 * kernel) can grow the heap and detach earlier views, so take views after the last allocation.
 */
export const heap = (backend: BackendWasm, info: Info): Float32Array => {
  if (info.dtype !== "float32") throw new Error(`expected a float32 tensor, got ${info.dtype}`)
  return backend.typedArrayFromHeap(info) as Float32Array
}

/** The whole wasm heap as float32 (re-read after any allocation; growth replaces the buffer). */
export const heapF32 = (backend: BackendWasm): Float32Array => {
  const wasm = backend.wasm as unknown as { readonly HEAPF32: Float32Array; readonly wasmMemory?: { readonly buffer: ArrayBufferLike } }
  // The threaded build's heap is shared memory that a pool thread may have grown, and the
  // module refreshes its views lazily: then view the memory's current buffer.
  const current = wasm.wasmMemory?.buffer
  return current !== undefined && current !== wasm.HEAPF32.buffer ? new Float32Array(current) : wasm.HEAPF32
}

/**
 * Runs `f` with `bytes` of scratch memory on the wasm heap (its byte offset), freed after. The
 * allocation may grow the heap: take views of it inside `f`.
 */
export const withScratch = <T>(backend: BackendWasm, bytes: number, f: (ptr: number) => T): T => {
  const wasm = backend.wasm as unknown as { _malloc(bytes: number): number; _free(ptr: number): void }
  const ptr = wasm._malloc(bytes)
  try {
    return f(ptr)
  } finally {
    wasm._free(ptr)
  }
}

/** Index of a float32 tensor's first element in `heapF32(backend)`. */
export const offsetOf = (backend: BackendWasm, info: Info): number => {
  const data = backend.dataIdMap.get(info.dataId)
  if (data === undefined) throw new Error("tensor data is not on the wasm backend")
  return data.memoryOffset / 4
}

/**
 * Copies `length` floats inside the heap. Short runs (a few channels) go element by element,
 * long ones through `copyWithin` (a memmove), which has a fixed call cost.
 */
export const copyRun = (mem: Float32Array, dst: number, src: number, length: number): void => {
  if (length < 16) {
    for (let i = 0; i < length; i++) mem[dst + i] = mem[src + i]!
  } else {
    mem.copyWithin(dst, src, src + length)
  }
}

/**
 * A float32 tensor aliasing `base`'s memory from element `offset`: kernels read it like any
 * tensor, without a copy. Release it with `releaseView`, never `free` (which would free the
 * memory it shares with `base`), and before `base` is freed.
 */
export const view = (backend: BackendWasm, base: Info, offset: number, shape: ReadonlyArray<number>): Info => {
  const size = shape.reduce((a, b) => a * b, 1)
  const baseSize = base.shape.reduce((a, b) => a * b, 1)
  if (base.dtype !== "float32" || offset < 0 || offset + size > baseSize) {
    throw new Error(`view of ${size} floats at ${offset} does not fit a ${base.dtype} tensor of ${baseSize}`)
  }
  const data = backend.dataIdMap.get(base.dataId)
  if (data === undefined) throw new Error("tensor data is not on the wasm backend")
  return backend.makeOutput([...shape], "float32", data.memoryOffset + offset * 4)
}

/** Forgets a view (the backend's bookkeeping for its id) without freeing the shared memory. */
export const releaseView = (backend: BackendWasm, info: Info): void => {
  const data = backend.dataIdMap.get(info.dataId)
  if (data === undefined) return
  backend.wasm.tfjs.disposeData(data.id)
  backend.dataIdMap.delete(info.dataId)
}

/** A new float32 tensor on the heap filled with zeros (makeOutput leaves memory uninitialised). */
export const zeros = (backend: BackendWasm, shape: ReadonlyArray<number>): Info => {
  const out = backend.makeOutput([...shape], "float32")
  heap(backend, out).fill(0)
  return out
}

export const reshape = (backend: BackendWasm, x: Info, shape: ReadonlyArray<number>): Info =>
  run(backend, "Reshape", { x }, { shape: [...shape] })

export const transpose = (backend: BackendWasm, x: Info, perm: ReadonlyArray<number>): Info =>
  run(backend, "Transpose", { x }, { perm: [...perm] })

export const slice = (
  backend: BackendWasm,
  x: Info,
  begin: ReadonlyArray<number>,
  size: ReadonlyArray<number>
): Info => run(backend, "Slice", { x }, { begin: [...begin], size: [...size] })

/** Explicit [before, after] padding for each of the four NHWC axes, as Conv2D accepts it. */
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]]

/** Forward convolution (NHWC, stride/dilation per axis) on the wasm backend's XNNPACK kernel. */
export const conv2d = (
  backend: BackendWasm,
  x: Info,
  filter: Info,
  strides: readonly [number, number],
  dilations: readonly [number, number],
  pad: ExplicitPadding
): Info =>
  run(
    backend,
    "Conv2D",
    { x, filter },
    { strides: [...strides], dilations: [...dilations], pad, dataFormat: "NHWC" }
  )
