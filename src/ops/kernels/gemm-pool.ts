/**
 * The fused multiply-add product (gemm-simd.ts) on every thread of the threaded wasm build
 * (issue 10).
 *
 * XNNPACK's kernels split their work over the build's pthread pool, but the product is rstn's
 * own module and ran on the calling thread only: on 2 threads the convolutions were slower than
 * XNNPACK's. Here `threads - 1` Node worker threads each instantiate the same compiled module on
 * the same shared `WebAssembly.Memory`, so a product call computes the same thing on any of
 * them. A convolution hands `run` its whole list of calls at once (one dispatch): each call
 * carries a lane, the calls of one lane run in their order on one thread (calls that add to an
 * output region written by an earlier call share its lane), and lanes of one dispatch write
 * disjoint outputs. Splitting a call by rows or columns (`splitCall`) leaves each output
 * element's sequence of multiply-adds as it was, so results are bit-identical on any thread
 * count and whichever thread takes a lane: only which thread computes an element changes.
 * A call may also name another function of the product's module (`KernelCall`: Winograd's tile
 * transforms, winograd-simd.ts; Adam's update, adam-simd.ts; batch norm's loops,
 * batch-norm-simd.ts; strided copies, copy-simd.ts), so that the memory-bound passes around the products run on every thread
 * too.
 *
 * Dispatch goes through shared Int32Arrays: the calling thread writes the calls lane by lane,
 * opens the dispatch's claim word and `Atomics.notify`s; then every thread, the calling one
 * included, takes the next lane until none is left, and the calling thread waits for the lanes
 * the workers took (Node lets the main thread block in `Atomics.wait`). Taking lanes rather than
 * being dealt them matters on this 2-core machine: a woken worker waits about 0.5 ms for a core
 * after an XNNPACK operation, while XNNPACK's own pool thread spins (measured over the RSTN
 * forward: 0.1 ms after a convolution alone, 0.5 ms after an add and a relu), and meanwhile the
 * calling thread gets on with the work instead of waiting for it. Workers spin about 30 us after
 * a dispatch, then sleep in `Atomics.wait`, so an idle pool takes no core from XNNPACK's (a spin
 * of 1 ms made the forward pass 15-30% slower).
 *
 * The pool lives in `src/ops` although it starts threads: it is part of how a kernel computes
 * (as XNNPACK's pthreads are), synchronous, and invisible outside the product.
 */
import { Worker } from "node:worker_threads"
import { GEMM_ROWS, type GemmSimd } from "./gemm-simd.ts"
import type { WasmMemory } from "./wasm-assembler.ts"
import type { AdamName } from "./adam-simd.ts"
import type { BatchNormName } from "./batch-norm-simd.ts"
import type { CopyName } from "./copy-simd.ts"
import type { TransformName } from "./winograd-simd.ts"

/** One product call (gemm-simd.ts's arguments, byte offsets and strides) and the lane it runs in. */
export interface GemmCall {
  /** Calls of one lane run in list order on one thread; calls of different lanes must write disjoint outputs. */
  readonly lane: number
  /** Columns per block: gemm8 or gemm4 (conv2d-gemm.ts's `columnBlock`). */
  readonly width: 4 | 8
  readonly a: number
  readonly b: number
  readonly c: number
  readonly m: number
  readonly n: number
  readonly k: number
  readonly lda: number
  readonly ldb: number
  readonly ldc: number
  readonly aStep: number
  readonly taps: number
  readonly nTaps: number
  readonly chunk: number
  readonly add: 0 | 1
}

/** The module's functions other than the product's: Winograd's transforms, Adam, batch norm's loops, strided copies. */
export type KernelName = TransformName | AdamName | BatchNormName | CopyName

/**
 * A call of one of the module's other functions (winograd-simd.ts's transforms, adam-simd.ts,
 * batch-norm-simd.ts), with its int32 arguments (at most 14) and its work in multiply-adds or
 * the like (what orders the lanes and decides whether waking the workers pays).
 */
export interface KernelCall {
  readonly lane: number
  readonly fn: KernelName
  readonly args: ReadonlyArray<number>
  readonly work: number
}

/** Any call a dispatch runs. */
export type PoolCall = GemmCall | KernelCall

/** The module's functions by command number (a command's first word). */
const FUNCTIONS: ReadonlyArray<"gemm4" | "gemm8" | KernelName> = [
  "gemm4", "gemm8", "winogradInput", "winogradOutput", "winogradGradient", "winogradFilter", "winogradFilterGradient",
  "adam", "adamDecay", "bnStats", "bnAffine", "bnGradSums", "bnGradDx", "copyRuns"
]

const isKernel = (c: PoolCall): c is KernelCall => "fn" in c

/** Runs lists of calls of the module's functions other than the product's (adam.ts, batch-norm.ts). */
export interface KernelRunner {
  /** Threads a dispatch spreads over: the calling thread and the workers (1 where there are none). */
  readonly threads: number
  /** Runs `calls`, on every thread of the pool when there is one; returns when all are done. */
  readonly run: (calls: ReadonlyArray<KernelCall>) => void
}

export interface GemmRunner extends KernelRunner {
  readonly run: (calls: ReadonlyArray<PoolCall>) => void
}

/**
 * Splits a call into at most `parts` calls with disjoint outputs, in lanes `lane0`, `lane0 + 1`,
 * ...: by rows on multiples of GEMM_ROWS first, then by column blocks. Every output element is
 * computed by the same multiply-adds in the same order as by the whole call.
 */
export const splitCall = (call: GemmCall, parts: number, lane0: number): ReadonlyArray<GemmCall> => {
  const rowBlocks = call.m / GEMM_ROWS
  const colBlocks = call.n / call.width
  const byRows = Math.max(1, Math.min(parts, rowBlocks))
  const byCols = Math.max(1, Math.min(Math.floor(parts / byRows), colBlocks))
  const out: GemmCall[] = []
  for (let r = 0; r < byRows; r++) {
    const r0 = Math.floor((r * rowBlocks) / byRows) * GEMM_ROWS
    const r1 = Math.floor(((r + 1) * rowBlocks) / byRows) * GEMM_ROWS
    for (let c = 0; c < byCols; c++) {
      const c0 = Math.floor((c * colBlocks) / byCols) * call.width
      const c1 = Math.floor(((c + 1) * colBlocks) / byCols) * call.width
      out.push({
        ...call,
        lane: lane0 + r * byCols + c,
        a: call.a + r0 * call.lda,
        b: call.b + 4 * c0,
        c: call.c + r0 * call.ldc + 4 * c0,
        m: r1 - r0,
        n: c1 - c0
      })
    }
  }
  return out
}

/**
 * Pieces to split each of `units` equal units of work (images, taps) into so that the lanes
 * divide evenly among `threads`, with at least four lanes per thread when there is a pool (so
 * that a thread the scheduler pauses holds up only a small share).
 */
export const piecesPerUnit = (units: number, threads: number): number => {
  if (threads <= 1) return 1
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))
  let parts = threads / gcd(units, threads)
  while (units * parts < 4 * threads) parts *= 2
  return parts
}

/**
 * `parts` (at most) consecutive ranges [start, end) covering 0..count, each starting on a
 * multiple of `align`: how a kernel splits elements, pixels or channels over lanes.
 */
export const ranges = (count: number, parts: number, align = 1): ReadonlyArray<readonly [number, number]> => {
  const blocks = Math.ceil(count / align)
  const p = Math.max(1, Math.min(parts, blocks))
  return Array.from({ length: p }, (_, i) => [
    Math.floor((i * blocks) / p) * align,
    i === p - 1 ? count : Math.floor(((i + 1) * blocks) / p) * align
  ] as const)
}

/** Multiply-adds of a call: what orders the lanes. */
const work = (c: PoolCall): number => (isKernel(c) ? c.work : c.m * c.n * c.k * c.nTaps)

/**
 * Below this many multiply-adds (about 0.1 ms on one core) waking the workers costs more than
 * it saves: the calling thread runs the dispatch alone.
 */
export const MIN_POOL_WORK = 1 << 20

/**
 * Below this much work (about 1.6 ms on one core) a memory-bound pass (Adam's update, batch
 * norm's loops, copies: a few operations per element loaded) stays one lane on the calling
 * thread. A worker takes up to about 0.5 ms to wake after an XNNPACK operation (see above), and
 * two threads share the memory bandwidth: split over 2 threads on this machine (load average
 * 3.3), batch norm on 4x128x128x16 took 1.0 ms forward and 1.5 ms backward against 0.8 and 1.2
 * on the calling thread alone, and Adam on 6M parameters 10 ms either way.
 */
export const MIN_STREAM_WORK = 16 * MIN_POOL_WORK

/**
 * Lanes to split a memory-bound pass of `work` units into: `perThread` per thread of a pool from
 * MIN_STREAM_WORK up, else one.
 */
export const streamParts = (work: number, threads: number, perThread: number): number =>
  threads <= 1 || work < MIN_STREAM_WORK ? 1 : perThread * threads

/**
 * The calls grouped by lane, each lane's in list order, lanes in decreasing order of work (then
 * lane order): threads take them in this order, so the largest start first and the smallest
 * fill in at the end.
 */
export const laneQueue = <C extends PoolCall>(calls: ReadonlyArray<C>): ReadonlyArray<ReadonlyArray<C>> => {
  const lanes = new Map<number, { calls: C[]; work: number }>()
  for (const c of calls) {
    const lane = lanes.get(c.lane) ?? { calls: [], work: 0 }
    lane.calls.push(c)
    lane.work += work(c) + 1
    lanes.set(c.lane, lane)
  }
  return [...lanes.entries()].sort((x, y) => y[1].work - x[1].work || x[0] - y[0]).map(([, l]) => l.calls)
}

/** A command's words after the function number: the call's arguments. */
const argumentsOf = (c: PoolCall): ReadonlyArray<number> =>
  isKernel(c) ? c.args : [c.a, c.b, c.c, c.m, c.n, c.k, c.lda, c.ldb, c.ldc, c.aStep, c.taps, c.nTaps, c.chunk, c.add]

const functionOf = (c: PoolCall): (typeof FUNCTIONS)[number] => (isKernel(c) ? c.fn : c.width === 8 ? "gemm8" : "gemm4")

const invoke = (simd: GemmSimd, c: PoolCall): void => {
  const args = argumentsOf(c)
  ;(simd[functionOf(c)] as (...a: number[]) => void)(...args)
}

/** Runs the calls in order on the calling thread (the single-threaded build, and the fallback). */
export const sequentialRunner = (simd: GemmSimd): GemmRunner => ({
  threads: 1,
  run: (calls) => {
    for (const c of calls) invoke(simd, c)
  }
})

// The control words (Int32Array indices) shared with the workers.
const EPOCH = 0 // the current dispatch's number (20 bits); workers sleep on it
const CLAIM = 1 // (epoch << LANE_BITS) | the next lane to take: a thread takes a lane by incrementing it
const LANES = 2 // lanes in the current dispatch
const DONE = 3 // lanes of the current dispatch finished
const FAILED = 4 // 1 once a worker failed (the message is in the text area)
const READY = 5 // workers that instantiated the module
const TEXT = 64 // byte offset of a failed worker's message (UTF-8, up to TEXT_BYTES)
const TEXT_BYTES = 1024
const CONTROL_BYTES = TEXT + TEXT_BYTES
const LANE_BITS = 12
/** Lanes per dispatch (a claim counts them in LANE_BITS bits). */
const MAX_LANES = (1 << LANE_BITS) - 1
const EPOCH_MASK = (1 << (32 - LANE_BITS)) - 1
/** Int32 words per call in the command buffer: the function (an index into FUNCTIONS) and up to 14 arguments. */
const WORDS = 16
/** Calls per dispatch (a longer list is run as several, in order); 512 KB of commands. */
const CAPACITY = 8192
/** Spins on a control word before sleeping on it: about 30 microseconds. */
const SPINS = 4000
/** How long a new pool may take to start before the product stays on the calling thread. */
const START_MS = 10_000

/**
 * The worker thread (CommonJS, evaluated: no file to locate in the bundle). It instantiates the
 * module, then at each new epoch takes lanes until none is left: lane i's calls are
 * commands [bounds[i], bounds[i + 1]). A claim names its epoch, so a worker that wakes late
 * cannot take a lane of a later dispatch, and the calling thread reuses the buffers only once
 * every lane is done. A failure, at start or in a call, sets FAILED with the message and still
 * counts the lane as done, so the caller never waits forever.
 */
const WORKER_SOURCE = `
"use strict"
const { workerData } = require("node:worker_threads")
const { module, memory, control, commands, laneBounds, functions } = workerData
const ctrl = new Int32Array(control)
const cmd = new Int32Array(commands)
const bounds = new Int32Array(laneBounds)
const fail = (e) => {
  const text = new TextEncoder().encode(String((e && e.stack) || e)).subarray(0, ${TEXT_BYTES})
  new Uint8Array(control, ${TEXT}, ${TEXT_BYTES}).set(text)
  Atomics.store(ctrl, ${FAILED}, 1)
}
let fns
try {
  const { exports } = new WebAssembly.Instance(module, { env: { memory } })
  fns = functions.map((name) => exports[name])
  Atomics.add(ctrl, ${READY}, 1)
} catch (e) {
  fail(e)
}
Atomics.notify(ctrl, ${READY})
if (fns !== undefined) {
  let seen = 0
  for (;;) {
    let epoch = Atomics.load(ctrl, ${EPOCH})
    for (let i = 0; epoch === seen && i < ${SPINS}; i++) epoch = Atomics.load(ctrl, ${EPOCH})
    if (epoch === seen) {
      Atomics.wait(ctrl, ${EPOCH}, seen)
      continue
    }
    seen = epoch
    for (;;) {
      const claim = Atomics.load(ctrl, ${CLAIM})
      const lane = claim & ${MAX_LANES}
      if (claim >>> ${LANE_BITS} !== epoch || lane >= Atomics.load(ctrl, ${LANES})) break
      if (Atomics.compareExchange(ctrl, ${CLAIM}, claim, claim + 1) !== claim) continue
      try {
        for (let i = bounds[lane], end = bounds[lane + 1]; i < end; i++) {
          const o = i * ${WORDS}
          fns[cmd[o]](cmd[o + 1], cmd[o + 2], cmd[o + 3], cmd[o + 4], cmd[o + 5], cmd[o + 6], cmd[o + 7],
            cmd[o + 8], cmd[o + 9], cmd[o + 10], cmd[o + 11], cmd[o + 12], cmd[o + 13], cmd[o + 14])
        }
      } catch (e) {
        fail(e)
      }
      if (Atomics.add(ctrl, ${DONE}, 1) + 1 === Atomics.load(ctrl, ${LANES})) Atomics.notify(ctrl, ${DONE})
    }
  }
}
`

/** Blocks while `ctrl[at]` is `value`, at most about `ms`: spins first, then sleeps. */
const waitWhile = (ctrl: Int32Array, at: number, value: number, ms: number): void => {
  for (let i = 0; i < SPINS; i++) if (Atomics.load(ctrl, at) !== value) return
  Atomics.wait(ctrl, at, value, ms)
}

const failure = (ctrl: Int32Array): string => {
  const bytes = new Uint8Array(ctrl.buffer, TEXT, TEXT_BYTES)
  const end = bytes.indexOf(0)
  return new TextDecoder().decode(bytes.slice(0, end < 0 ? TEXT_BYTES : end))
}

/** The calls cut, in order, into dispatches of at most CAPACITY calls and MAX_LANES lanes. */
const segments = (calls: ReadonlyArray<PoolCall>): ReadonlyArray<ReadonlyArray<PoolCall>> => {
  const out: PoolCall[][] = []
  let current: PoolCall[] = []
  let lanes = new Set<number>()
  for (const c of calls) {
    if (current.length === CAPACITY || (!lanes.has(c.lane) && lanes.size === MAX_LANES)) {
      out.push(current)
      current = []
      lanes = new Set()
    }
    current.push(c)
    lanes.add(c.lane)
  }
  if (current.length > 0) out.push(current)
  return out
}

/**
 * A runner on `threads` threads for the product bound to the shared `memory`: the calling thread
 * and `threads - 1` workers, started now, unreferenced so that they never keep the process alive.
 * Every thread, the calling one included, takes lanes from the dispatch's queue until it is
 * empty: a worker that the scheduler pauses (other processes, XNNPACK's own pool threads) delays
 * a dispatch by one lane at most. Which thread runs a lane changes nothing in its results.
 * Falls back to the sequential runner when a worker cannot start or instantiate the module
 * within START_MS. After a worker fails in a call, that dispatch throws (its outputs are not
 * trusted) and later dispatches run on the calling thread.
 */
export const createPool = (simd: GemmSimd, memory: WasmMemory, threads: number, module: object = simd.module): GemmRunner => {
  const sequential = sequentialRunner(simd)
  if (threads <= 1) return sequential
  const workers = threads - 1
  const ctrl = new Int32Array(new SharedArrayBuffer(CONTROL_BYTES))
  const cmd = new Int32Array(new SharedArrayBuffer(CAPACITY * WORDS * 4))
  const bounds = new Int32Array(new SharedArrayBuffer((MAX_LANES + 1) * 4))
  const started: Worker[] = []
  const stop = (): GemmRunner => {
    for (const w of started) void w.terminate()
    return sequential
  }
  try {
    for (let index = 0; index < workers; index++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module, memory, control: ctrl.buffer, commands: cmd.buffer, laneBounds: bounds.buffer, functions: FUNCTIONS }
      })
      // The worker reports its failures through FAILED; an 'error' event without a listener would end the process.
      worker.on("error", () => {})
      worker.unref()
      started.push(worker)
    }
  } catch {
    return stop()
  }
  const deadline = Date.now() + START_MS
  for (let ready = Atomics.load(ctrl, READY); ready < workers; ready = Atomics.load(ctrl, READY)) {
    if (Atomics.load(ctrl, FAILED) !== 0 || Date.now() >= deadline) return stop()
    Atomics.wait(ctrl, READY, ready, Math.max(1, deadline - Date.now()))
  }

  let broken = false
  let epoch = 0
  const dispatch = (calls: ReadonlyArray<PoolCall>): void => {
    const queue = laneQueue(calls)
    epoch = (epoch + 1) & EPOCH_MASK || 1 // 0 is the workers' "none seen yet"
    // Closed first: a worker still looking at the last dispatch's claim word can no longer take
    // a lane, whatever it reads of the lane count written next.
    Atomics.store(ctrl, CLAIM, (epoch << LANE_BITS) | MAX_LANES)
    let at = 0
    queue.forEach((lane, i) => {
      bounds[i] = at
      for (const c of lane) {
        cmd[at * WORDS] = FUNCTIONS.indexOf(functionOf(c))
        cmd.set(argumentsOf(c), at++ * WORDS + 1)
      }
    })
    bounds[queue.length] = at
    Atomics.store(ctrl, LANES, queue.length)
    Atomics.store(ctrl, DONE, 0)
    Atomics.store(ctrl, CLAIM, (epoch << LANE_BITS) | 0)
    Atomics.store(ctrl, EPOCH, epoch)
    Atomics.notify(ctrl, EPOCH)
    let error: unknown
    for (;;) {
      const claim = Atomics.load(ctrl, CLAIM)
      const lane = claim & MAX_LANES
      if (lane >= queue.length) break
      if (Atomics.compareExchange(ctrl, CLAIM, claim, claim + 1) !== claim) continue
      try {
        for (const c of queue[lane]!) invoke(simd, c)
      } catch (e) {
        error ??= e
      }
      Atomics.add(ctrl, DONE, 1)
    }
    // the lanes the workers took: wait for them before the buffers are reused, even after a failure here
    for (let done = Atomics.load(ctrl, DONE); done < queue.length; done = Atomics.load(ctrl, DONE)) waitWhile(ctrl, DONE, done, 1000)
    if (Atomics.load(ctrl, FAILED) !== 0) {
      broken = true
      stop()
      throw new Error(`a product worker thread failed; the product runs on the calling thread from now on: ${failure(ctrl)}`)
    }
    if (error !== undefined) throw error
  }

  return {
    threads,
    run: (calls) => {
      // one lane: nothing to share
      if (broken || calls.every((c) => c.lane === calls[0]!.lane) || calls.reduce((s, c) => s + work(c), 0) < MIN_POOL_WORK) {
        return sequential.run(calls)
      }
      for (const segment of segments(calls)) dispatch(segment)
    }
  }
}
