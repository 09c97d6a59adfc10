/**
 * Batch normalisation over N, H and W of an NHWC tensor as three kernels for the wasm and cpu
 * backends, and `batchNormTraining`, which ties the training pair together with tf.customGrad.
 *
 * Written as tfjs ops (moments, then subtract, scale, shift), a batch-norm layer costs about a
 * dozen full-size elementwise kernels forward and two dozen backward — with Adam's chain, half of
 * a training step of the demo's network (design.md, "Engine"). Here the forward pass is two
 * passes over x (statistics, then y) and the backward pass two over x and dy, with the standard
 * gradient of y = (x - μ)/σ · γ + β through μ and σ² (M = N·H·W, x̂ = (x - μ)/σ):
 *   dβ = Σ dy,   dγ = Σ dy·x̂,   dx = γ/σ · (dy - dβ/M - x̂·dγ/M)
 * Sums run in float64, one accumulator per channel, so results differ from the op chain's
 * float32 reductions by rounding only. On wasm the loops run in WebAssembly SIMD
 * (batch-norm-simd.ts) when the channel count is a multiple of 4, split over the product's
 * threads where it has them (gemm-pool.ts): the elementwise passes by ranges of pixels, the sums
 * by ranges of channels, so that each channel's sum adds the same values in the same order, and
 * results are bit-identical on any thread count.
 */
import * as tf from "@tensorflow/tfjs"
import { batchNormSimdFor } from "./batch-norm-simd.ts"
import { kernelRunnerOf } from "./gemm-backend.ts"
import { type KernelCall, type KernelRunner, ranges, streamParts } from "./gemm-pool.ts"
import { asWasm, heapF32, type Info, offsetOf, withScratch } from "./wasm-kernel-utils.ts"

export const BN_TRAIN = "RstnBatchNormTrain"
export const BN_INFER = "RstnBatchNormInfer"
export const BN_GRAD = "RstnBatchNormGrad"

/** An array and the index of a tensor's first element in it. */
type At = readonly [Float32Array, number]

/**
 * Per-channel mean and biased variance in one pass: float64 sums of x and x². E[x²] - mean² loses
 * only (mean / std)² x 1e-16 relative, negligible unless a channel's mean exceeds its standard
 * deviation a millionfold.
 */
const moments = ([x, x0]: At, m: number, c: number): { mean: Float64Array; variance: Float64Array } => {
  const sum = new Float64Array(c)
  const squares = new Float64Array(c)
  const end = x0 + m * c
  for (let o = x0; o < end; o += c) {
    for (let k = 0; k < c; k++) {
      const v = x[o + k]!
      sum[k] += v
      squares[k] += v * v
    }
  }
  const mean = new Float64Array(c)
  const variance = new Float64Array(c)
  for (let k = 0; k < c; k++) {
    mean[k] = sum[k]! / m
    variance[k] = Math.max(0, squares[k]! / m - mean[k]! * mean[k]!)
  }
  return { mean, variance }
}

/** y = (x - mean) · inv · scale + shift, with inv = 1/√(variance + ε) per channel. */
const normalise = ([x, x0]: At, [y, y0]: At, m: number, c: number, mean: ArrayLike<number>, inv: ArrayLike<number>, [g, g0]: At, [b, b0]: At): void => {
  const a = new Float64Array(c) // scale · inv
  const s = new Float64Array(c) // shift - mean · scale · inv
  for (let k = 0; k < c; k++) {
    a[k] = g[g0 + k]! * inv[k]!
    s[k] = b[b0 + k]! - mean[k]! * a[k]!
  }
  const shift = y0 - x0
  const end = x0 + m * c
  for (let o = x0; o < end; o += c) for (let k = 0; k < c; k++) y[o + shift + k] = x[o + k]! * a[k]! + s[k]!
}

/** dx, dscale, dshift from dy, x and the forward pass's mean and inv (see the module comment). */
const gradient = (
  [dy, dy0]: At,
  [x, x0]: At,
  [mu0, mu00]: At,
  [iv0, iv00]: At,
  [g, g0]: At,
  [dx, dx0]: At,
  [dg, dg0]: At,
  [db, db0]: At,
  m: number,
  c: number
): void => {
  const mu = Float64Array.from(mu0.subarray(mu00, mu00 + c))
  const iv = Float64Array.from(iv0.subarray(iv00, iv00 + c))
  const sumDy = new Float64Array(c)
  const sumDyCentred = new Float64Array(c) // Σ dy·(x - μ); times 1/σ it is dγ
  const n = m * c
  for (let o = 0; o < n; o += c) {
    for (let k = 0; k < c; k++) {
      const d = dy[dy0 + o + k]!
      sumDy[k] += d
      sumDyCentred[k] += d * (x[x0 + o + k]! - mu[k]!)
    }
  }
  const a = new Float64Array(c) // γ/σ
  const mb = new Float64Array(c) // dβ/M
  const mg = new Float64Array(c) // dγ/(M σ): the coefficient of (x - μ)
  for (let k = 0; k < c; k++) {
    const dgamma = sumDyCentred[k]! * iv[k]!
    a[k] = g[g0 + k]! * iv[k]!
    mb[k] = sumDy[k]! / m
    mg[k] = (dgamma / m) * iv[k]!
    dg[dg0 + k] = dgamma
    db[db0 + k] = sumDy[k]!
  }
  for (let o = 0; o < n; o += c) {
    for (let k = 0; k < c; k++) {
      dx[dx0 + o + k] = a[k]! * (dy[dy0 + o + k]! - mb[k]! - (x[x0 + o + k]! - mu[k]!) * mg[k]!)
    }
  }
}

// a loop, not Float64Array.from's mapping iterator: inference calls it per layer and batch, tens of thousands of times a run
const inverseStd = (variance: ArrayLike<number>, epsilon: number): Float64Array => {
  const inv = new Float64Array(variance.length)
  for (let i = 0; i < inv.length; i++) inv[i] = 1 / Math.sqrt(variance[i]! + epsilon)
  return inv
}

const geometry = (x: Info): { m: number; c: number } => {
  if (x.dtype !== "float32" || x.shape.length < 1) throw new Error("batch norm: x must be a float32 tensor with channels last")
  const c = x.shape[x.shape.length - 1]!
  return { m: tf.util.sizeFromShape(x.shape) / c, c }
}

/** The three loops, in JavaScript (any backend) or WebAssembly SIMD (wasm). */
interface Loops {
  readonly moments: typeof moments
  readonly normalise: typeof normalise
  readonly gradient: typeof gradient
}

const jsLoops: Loops = { moments, normalise, gradient }

/**
 * A pass's work per element in the pool's units (a product's multiply-adds, about 0.1 ns each
 * on one core): these loops stream memory at about 0.4 ns per element.
 */
const WORK_PER_ELEMENT = 4

/** Bytes per cache line (x64 and arm64). */
const CACHE_LINE = 64

/**
 * The loops in WebAssembly SIMD (batch-norm-simd.ts) for channel counts that are multiples of 4,
 * JavaScript otherwise, as calls for `runner` (the product's pool, or the calling thread).
 * Scratch space (accumulators, coefficients) comes from the module's malloc, which may grow the
 * heap: the SIMD paths use the `At` arrays' offsets only, and read or write values through a
 * fresh view of the heap.
 */
const simdLoops = (b: ReturnType<typeof asWasm>, runner: KernelRunner): Loops => {
  const f64 = (ptr: number, n: number) => new Float64Array(heapF32(b).buffer, ptr, n)
  const f32 = (ptr: number, n: number) => new Float32Array(heapF32(b).buffer, ptr, n)
  const copy = ([arr, at]: At, c: number) => Float64Array.from(arr.subarray(at, at + c))
  /** A pass over m pixels of c channels split by pixel ranges: `call(first pixel's byte offset, pixels)`. */
  const byPixels = (m: number, c: number, call: (at: number, pixels: number) => Omit<KernelCall, "lane" | "work">) =>
    runner.run(ranges(m, streamParts(WORK_PER_ELEMENT * m * c, runner.threads, 4)).map(([p0, p1], lane) => ({ ...call(4 * p0 * c, p1 - p0), lane, work: WORK_PER_ELEMENT * (p1 - p0) * c })))
  /**
   * Per-channel float64 sums and second sums over m pixels, split by channel ranges, one lane per
   * thread (a lane reads its channels of every pixel's cache lines). Each lane accumulates in
   * cache lines of its own: two threads storing to one line at every pixel would stall each other.
   * `inputs` writes `bytes` of the pass's inputs at the scratch block's start (8-byte aligned);
   * `call(first channel, channels, sums' and second sums' byte offsets, the inputs' offset)`.
   */
  const channelSums = (
    m: number,
    c: number,
    bytes: number,
    inputs: (ptr: number) => void,
    call: (k0: number, width: number, sums: number, second: number, ptr: number) => Omit<KernelCall, "lane" | "work">
  ): { readonly sums: Float64Array; readonly second: Float64Array } => {
    const lanes = ranges(c, streamParts(WORK_PER_ELEMENT * m * c, runner.threads, 1), 4)
    const line = (n: number) => Math.ceil(n / CACHE_LINE) * CACHE_LINE
    return withScratch(b, line(bytes) + CACHE_LINE + lanes.reduce((s, [k0, k1]) => s + 2 * line(8 * (k1 - k0)), 0), (ptr) => {
      inputs(ptr)
      let at = line(ptr + bytes)
      const blocks = lanes.map(([k0, k1]) => {
        const block = { k0, k1, sums: at, second: at + line(8 * (k1 - k0)) }
        at = block.second + line(8 * (k1 - k0))
        f64(block.sums, k1 - k0).fill(0)
        f64(block.second, k1 - k0).fill(0)
        return block
      })
      runner.run(blocks.map((l, lane) => ({ ...call(l.k0, l.k1 - l.k0, l.sums, l.second, ptr), lane, work: WORK_PER_ELEMENT * m * (l.k1 - l.k0) })))
      const sums = new Float64Array(c)
      const second = new Float64Array(c)
      for (const l of blocks) {
        sums.set(f64(l.sums, l.k1 - l.k0), l.k0)
        second.set(f64(l.second, l.k1 - l.k0), l.k0)
      }
      return { sums, second }
    })
  }
  return {
    moments: (x, m, c) => {
      if (c % 4 !== 0) return moments(x, m, c)
      const { sums, second } = channelSums(m, c, 0, () => {}, (k0, w, acc, acc2) => ({ fn: "bnStats", args: [4 * (x[1] + k0), m, 4 * c, 4 * w, acc, acc2] }))
      const mean = new Float64Array(c)
      const variance = new Float64Array(c)
      for (let k = 0; k < c; k++) {
        mean[k] = sums[k]! / m
        variance[k] = Math.max(0, second[k]! / m - mean[k]! * mean[k]!)
      }
      return { mean, variance }
    },
    normalise: (x, y, m, c, mean, inv, g, sh) => {
      if (c % 4 !== 0) return normalise(x, y, m, c, mean, inv, g, sh)
      const scale = copy(g, c)
      const shift = copy(sh, c)
      withScratch(b, 8 * c, (coef) => {
        const co = f32(coef, 2 * c)
        for (let k = 0; k < c; k++) {
          co[k] = scale[k]! * inv[k]!
          co[c + k] = shift[k]! - mean[k]! * scale[k]! * inv[k]!
        }
        byPixels(m, c, (at, pixels) => ({ fn: "bnAffine", args: [4 * x[1] + at, 4 * y[1] + at, 4 * pixels * c, 4 * c, coef] }))
      })
    },
    gradient: (dy, x, mu, iv, g, dx, dg, db, m, c) => {
      if (c % 4 !== 0) return gradient(dy, x, mu, iv, g, dx, dg, db, m, c)
      const mean = copy(mu, c)
      const inv = copy(iv, c)
      const scale = copy(g, c)
      // Σ dy and Σ dy·(x - μ), the means read from the scratch block
      const { sums, second } = channelSums(m, c, 8 * c, (ptr) => f64(ptr, c).set(mean), (k0, w, acc, acc2, ptr) => ({
        fn: "bnGradSums",
        args: [4 * (dy[1] + k0), 4 * (x[1] + k0), m, 4 * c, 4 * w, ptr + 8 * k0, acc, acc2]
      }))
      withScratch(b, 16 * c, (coef) => {
        const co = f32(coef, 4 * c)
        const heap = heapF32(b)
        for (let k = 0; k < c; k++) {
          const dgamma = second[k]! * inv[k]!
          co[k] = scale[k]! * inv[k]! // γ/σ
          co[c + k] = sums[k]! / m // dβ/M
          co[2 * c + k] = mean[k]!
          co[3 * c + k] = (dgamma / m) * inv[k]! // coefficient of (x - μ)
          heap[dg[1] + k] = dgamma
          heap[db[1] + k] = sums[k]!
        }
        byPixels(m, c, (at, pixels) => ({ fn: "bnGradDx", args: [4 * dy[1] + at, 4 * x[1] + at, 4 * dx[1] + at, 4 * pixels * c, 4 * c, coef] }))
      })
    }
  }
}

/** How a backend lends its memory to the loops above and takes results back. */
interface Memory {
  readonly loops: Loops
  read(t: Info): At
  /** New float32 tensors of these shapes and a view of each (use before the loops run). */
  make(shapes: ReadonlyArray<ReadonlyArray<number>>): { infos: Info[]; views: At[] }
  /** Writes values into a tensor made by `make` (after the loops: the heap may have moved). */
  write(t: Info, values: ArrayLike<number>): void
}

const wasmMemory = (backend: unknown): Memory => {
  const b = asWasm(backend)
  const runner = kernelRunnerOf(b, batchNormSimdFor)
  return {
    loops: runner === null ? jsLoops : simdLoops(b, runner),
    read: (t) => [heapF32(b), offsetOf(b, t)],
    make: (shapes) => {
      const infos = shapes.map((s) => b.makeOutput([...s], "float32"))
      const heap = heapF32(b) // after the allocations, which may grow the heap
      return { infos, views: infos.map((i) => [heap, offsetOf(b, i)] as const) }
    },
    write: (t, values) => heapF32(b).set(values, offsetOf(b, t))
  }
}

interface CpuBackend {
  readSync(dataId: object): Float32Array
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): Info
}

const cpuMemory = (backend: unknown): Memory => {
  const b = backend as CpuBackend
  return {
    loops: jsLoops,
    read: (t) => [b.readSync(t.dataId), 0],
    write: (t, values) => b.readSync(t.dataId).set(values),
    make: (shapes) => {
      const arrays = shapes.map((s) => new Float32Array(tf.util.sizeFromShape([...s])))
      return { infos: arrays.map((a, i) => b.makeTensorInfo([...shapes[i]!], "float32", a)), views: arrays.map((a) => [a, 0] as const) }
    }
  }
}

/** Training forward: inputs x, scale, shift; outputs y, mean, variance, inv (1/√(variance + ε)). */
const trainKernel =
  (memory: (backend: unknown) => Memory): tf.KernelFunc =>
  (args) => {
    const { x, scale, shift } = args.inputs as { x: Info; scale: Info; shift: Info }
    const { epsilon } = args.attrs as unknown as { epsilon: number }
    const { m, c } = geometry(x)
    const mem = memory(args.backend)
    const { infos, views } = mem.make([x.shape, [c], [c], [c]])
    const { mean, variance } = mem.loops.moments(mem.read(x), m, c)
    const inv = inverseStd(variance, epsilon)
    mem.loops.normalise(mem.read(x), views[0]!, m, c, mean, inv, mem.read(scale), mem.read(shift))
    mem.write(infos[1]!, mean)
    mem.write(infos[2]!, variance)
    mem.write(infos[3]!, inv)
    return infos
  }

/** Inference: inputs x, mean, variance, scale, shift; output y. */
const inferKernel =
  (memory: (backend: unknown) => Memory): tf.KernelFunc =>
  (args) => {
    const { x, mean, variance, scale, shift } = args.inputs as Record<"x" | "mean" | "variance" | "scale" | "shift", Info>
    const { epsilon } = args.attrs as unknown as { epsilon: number }
    const { m, c } = geometry(x)
    const mem = memory(args.backend)
    const { infos, views } = mem.make([x.shape])
    const [mv, m0] = mem.read(mean)
    const [vv, v0] = mem.read(variance)
    const mu = Float64Array.from(mv.subarray(m0, m0 + c))
    const inv = inverseStd(vv.subarray(v0, v0 + c), epsilon)
    mem.loops.normalise(mem.read(x), views[0]!, m, c, mu, inv, mem.read(scale), mem.read(shift))
    return infos
  }

/** Backward: inputs dy, x, mean, inv, scale; outputs dx, dscale, dshift. */
const gradKernel =
  (memory: (backend: unknown) => Memory): tf.KernelFunc =>
  (args) => {
    const { dy, x, mean, inv, scale } = args.inputs as Record<"dy" | "x" | "mean" | "inv" | "scale", Info>
    const { m, c } = geometry(x)
    const mem = memory(args.backend)
    const { infos, views } = mem.make([x.shape, [c], [c]])
    mem.loops.gradient(mem.read(dy), mem.read(x), mem.read(mean), mem.read(inv), mem.read(scale), views[0]!, views[1]!, views[2]!, m, c)
    return infos
  }

const memories: Readonly<Record<string, (backend: unknown) => Memory>> = { wasm: wasmMemory, cpu: cpuMemory }

/** The backends with these kernels; elsewhere layers.ts keeps its op chain. */
export const hasBatchNormKernels = (backend: string): boolean => backend in memories

export const registerBatchNormKernels = (): void => {
  for (const [backendName, memory] of Object.entries(memories)) {
    for (const [kernelName, make] of [[BN_TRAIN, trainKernel], [BN_INFER, inferKernel], [BN_GRAD, gradKernel]] as const) {
      if (tf.getKernel(kernelName, backendName) === undefined) tf.registerKernel({ kernelName, backendName, kernelFunc: make(memory) })
    }
  }
}

const run = (name: string, inputs: tf.NamedTensorMap, attrs: Record<string, number> = {}): tf.Tensor[] =>
  tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[]

/**
 * Training-mode batch norm of x [..., C] with per-channel scale and shift: the output is
 * differentiable in all three; the batch mean and variance (for the moving statistics) are
 * handed to `stats`, `tf.keep`-ed, for the caller to dispose.
 */
export const batchNormTraining = (
  x: tf.Tensor,
  scale: tf.Tensor,
  shift: tf.Tensor,
  epsilon: number,
  stats?: (mean: tf.Tensor, variance: tf.Tensor) => void
): tf.Tensor => {
  registerBatchNormKernels()
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, gi, bi, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc]
    const [y, mean, variance, inv] = run(BN_TRAIN, { x: xi, scale: gi, shift: bi }, { epsilon }) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]
    save([xi, mean, inv, gi]) // before `stats`, which may dispose mean
    stats?.(tf.keep(mean), tf.keep(variance))
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, smean, sinv, sscale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]
        return run(BN_GRAD, { dy, x: sx, mean: smean, inv: sinv, scale: sscale })
      }
    }
  })
  return f(x, scale, shift)
}

/** Inference-mode batch norm with given (moving) statistics; no gradient. */
export const batchNormInference = (x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor, epsilon: number): tf.Tensor => {
  registerBatchNormKernels()
  return run(BN_INFER, { x, mean, variance, scale, shift }, { epsilon })[0]!
}
