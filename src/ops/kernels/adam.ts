/**
 * One Adam update of one parameter as a single kernel, `RstnAdam`, for the wasm and cpu
 * backends: inputs w, m, v, g; outputs the new w, m, v.
 *
 * Written as tfjs ops, the update (src/ops/train/optimizer.ts) is about 14 elementwise kernels
 * per parameter — 1,500 kernel calls, each allocating a full-size tensor, per training step of
 * the RSTN — and about a fifth of the step's time. Here it is one pass over the four arrays.
 *
 * The arithmetic is the op chain's, operation for operation, each result rounded to float32
 * (Math.fround) as the elementwise kernels round theirs, so the weights are bit-identical to the
 * unfused update on either backend (+, -, *, / and sqrt are correctly rounded in IEEE float32
 * and float64 alike, and rounding a float64 result of float32 operands to float32 gives the
 * float32 result):
 *   m' = m·β1 + g·(1 - β1)
 *   v' = v·β2 + g²·(1 - β2)
 *   d  = (m' / c1) / (√(v' / c2) + ε)  [+ w·decay]
 *   w' = w - d·rate
 * with c1 = 1 - β1^t and c2 = 1 - β2^t computed by the caller in float64.
 */
import * as tf from "@tensorflow/tfjs"
import { ADAM_COEFFICIENTS, adamCoefficients, adamSimdFor } from "./adam-simd.ts"
import { kernelRunnerOf } from "./gemm-backend.ts"
import { ranges, streamParts } from "./gemm-pool.ts"
import { asWasm, heapF32, type Info, offsetOf, withScratch } from "./wasm-kernel-utils.ts"

export const ADAM_KERNEL = "RstnAdam"

export interface AdamAttrs {
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
  /** 1 - β1^t and 1 - β2^t (bias corrections). */
  readonly c1: number
  readonly c2: number
  /** The learning rate times the parameter group's multiplier. */
  readonly rate: number
  /** Decoupled weight decay (0: none). */
  readonly decay: number
}

/** The update over n elements of arrays that may share one buffer (the wasm heap), by offsets. */
export const adamInto = (
  mem: { w: Float32Array; m: Float32Array; v: Float32Array; g: Float32Array; w2: Float32Array; m2: Float32Array; v2: Float32Array },
  at: { w: number; m: number; v: number; g: number; w2: number; m2: number; v2: number },
  n: number,
  a: AdamAttrs
): void => {
  const f = Math.fround
  const b1 = f(a.beta1)
  const ob1 = f(1 - a.beta1)
  const b2 = f(a.beta2)
  const ob2 = f(1 - a.beta2)
  const c1 = f(a.c1)
  const c2 = f(a.c2)
  const eps = f(a.epsilon)
  const rate = f(a.rate)
  const decay = f(a.decay)
  const { w, m, v, g, w2, m2, v2 } = mem
  for (let i = 0; i < n; i++) {
    const gi = g[at.g + i]!
    const wi = w[at.w + i]!
    const nm = f(f(m[at.m + i]! * b1) + f(gi * ob1))
    const nv = f(f(v[at.v + i]! * b2) + f(f(gi * gi) * ob2))
    let d = f(f(nm / c1) / f(f(Math.sqrt(f(nv / c2))) + eps))
    if (a.decay > 0) d = f(d + f(wi * decay))
    m2[at.m2 + i] = nm
    v2[at.v2 + i] = nv
    w2[at.w2 + i] = f(wi - f(d * rate))
  }
}

type Inputs = { w: Info; m: Info; v: Info; g: Info }

const check = ({ w, m, v, g }: Inputs): number => {
  const n = tf.util.sizeFromShape(w.shape)
  for (const t of [w, m, v, g]) {
    if (t.dtype !== "float32" || tf.util.sizeFromShape(t.shape) !== n) throw new Error(`${ADAM_KERNEL}: w, m, v and g must be float32 of one size`)
  }
  return n
}

/**
 * An element's update in the pool's work units (a product's multiply-adds): measured at about
 * 1.5 ns on one core, against 0.1 ns per multiply-add.
 */
const WORK_PER_ELEMENT = 15

const wasmAdam: tf.KernelFunc = (args) => {
  const backend = asWasm(args.backend)
  const inputs = args.inputs as Inputs
  const n = check(inputs)
  const outs = [0, 1, 2].map(() => backend.makeOutput([...inputs.w.shape], "float32"))
  const [w2, m2, v2] = outs as [Info, Info, Info]
  const off = (t: Info) => offsetOf(backend, t)
  const at = { w: off(inputs.w), m: off(inputs.m), v: off(inputs.v), g: off(inputs.g), w2: off(w2), m2: off(m2), v2: off(v2) }
  const a = args.attrs as unknown as AdamAttrs
  // Four lanes at a time in WebAssembly SIMD where the engine has it, split by element ranges
  // over the product's threads (gemm-pool.ts) where it runs; the last n mod 4 (or all, without
  // SIMD) in the scalar loop, which gives the same bits.
  const runner = kernelRunnerOf(backend, adamSimdFor)
  const lanes = runner === null ? 0 : n - (n % 4)
  if (runner !== null && lanes > 0) {
    withScratch(backend, 4 * ADAM_COEFFICIENTS, (coef) => {
      new Float32Array(heapF32(backend).buffer, coef, ADAM_COEFFICIENTS).set(adamCoefficients(a))
      const fn = a.decay > 0 ? "adamDecay" : "adam"
      const byte = (element: number, start: number) => 4 * (element + start)
      runner.run(
        ranges(lanes, streamParts(WORK_PER_ELEMENT * lanes, runner.threads, 4), 4).map(([s, e], lane) => ({
          lane,
          fn,
          args: [byte(at.w, s), byte(at.m, s), byte(at.v, s), byte(at.g, s), byte(at.w2, s), byte(at.m2, s), byte(at.v2, s), e - s, coef],
          work: WORK_PER_ELEMENT * (e - s)
        }))
      )
    })
  }
  if (lanes < n) {
    const heap = heapF32(backend) // after the allocations, which may grow the heap
    const shift = (o: typeof at) => Object.fromEntries(Object.entries(o).map(([k, x]) => [k, x + lanes])) as typeof at
    adamInto({ w: heap, m: heap, v: heap, g: heap, w2: heap, m2: heap, v2: heap }, shift(at), n - lanes, a)
  }
  return outs
}

interface CpuBackend {
  readSync(dataId: object): Float32Array
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): Info
}

const cpuAdam: tf.KernelFunc = (args) => {
  const backend = args.backend as unknown as CpuBackend
  const inputs = args.inputs as Inputs
  const n = check(inputs)
  const read = (t: Info) => backend.readSync(t.dataId)
  const [w2, m2, v2] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)]
  adamInto(
    { w: read(inputs.w), m: read(inputs.m), v: read(inputs.v), g: read(inputs.g), w2, m2, v2 },
    { w: 0, m: 0, v: 0, g: 0, w2: 0, m2: 0, v2: 0 },
    n,
    args.attrs as unknown as AdamAttrs
  )
  return [w2, m2, v2].map((values) => backend.makeTensorInfo([...inputs.w.shape], "float32", values))
}

const kernels: Readonly<Record<string, tf.KernelFunc>> = { wasm: wasmAdam, cpu: cpuAdam }

/** The backends `adamStep` runs on; elsewhere the optimiser keeps its op chain. */
export const hasAdamKernel = (backend: string): boolean => backend in kernels

/** Registers the kernel for wasm and cpu (idempotent). */
export const registerAdamKernel = (): void => {
  for (const [backendName, kernelFunc] of Object.entries(kernels)) {
    if (tf.getKernel(ADAM_KERNEL, backendName) === undefined) tf.registerKernel({ kernelName: ADAM_KERNEL, backendName, kernelFunc })
  }
}

/** The new [w, m, v] (new tensors; the caller assigns them). No gradient: it is an update. */
export const adamStep = (w: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, attrs: AdamAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] => {
  registerAdamKernel()
  return tf.engine().runKernel(ADAM_KERNEL, { w, m, v, g }, attrs as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor]
}
