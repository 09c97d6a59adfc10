/**
 * The design.md "Engine" case: a 3-layer 3x3 conv net (3 -> 32 -> 32 -> 32 channels, relu) on a
 * 4x128x128x3 batch. Median of 5 for the forward pass and for forward + backward (gradients of
 * all weights) on wasm with rstn's kernels, the same with the stock wasm kernels (which fails:
 * no Conv2DBackpropFilter), each Conv2DBackpropInput implementation alone, the FCN's stride-8
 * upsampling (conv2dTranspose, whose forward pass is Conv2DBackpropInput), and the cpu forward.
 * Prints one JSON object.
 */
import * as tf from "@tensorflow/tfjs"
import { registerWasmKernels, restoreStockWasmKernels } from "../src/ops/kernels/register.ts"
import { initBackend } from "../src/runtime/backend.ts"

const RUNS = 5
const BATCH: [number, number, number, number] = [4, 128, 128, 3]
const CHANNELS = 32

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return Math.round(s[s.length >> 1]! * 10) / 10
}

/** Median wall time of `f` (which must read its result back, so async work is included). */
const time = (f: () => void, runs = RUNS): number => {
  f() // warm-up: kernel setup, XNNPACK operator creation, heap growth
  const ms: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    f()
    ms.push(performance.now() - t0)
  }
  return median(ms)
}

const seeded = (shape: number[], seed: number): tf.Tensor => tf.randomNormal(shape, 0, 0.1, "float32", seed)

const makeNet = () => {
  const weights = [
    tf.variable(seeded([3, 3, BATCH[3], CHANNELS], 1)),
    tf.variable(seeded([3, 3, CHANNELS, CHANNELS], 2)),
    tf.variable(seeded([3, 3, CHANNELS, CHANNELS], 3))
  ]
  const forward = (x: tf.Tensor4D): tf.Tensor4D =>
    weights.reduce((h, w) => tf.relu(tf.conv2d(h, w as tf.Variable<tf.Rank.R4>, 1, "same")), x)
  const loss = (x: tf.Tensor4D) => () => tf.mean(tf.square(forward(x))) as tf.Scalar
  return { weights, forward, loss }
}

const forwardMs = (net: ReturnType<typeof makeNet>, x: tf.Tensor4D, runs = RUNS): number =>
  time(() => tf.tidy(() => void net.forward(x).dataSync()), runs)

const stepMs = (net: ReturnType<typeof makeNet>, x: tf.Tensor4D): number =>
  time(() => {
    const { value, grads } = tf.variableGrads(net.loss(x), net.weights)
    for (const g of Object.values(grads)) g.dataSync()
    value.dispose()
    tf.dispose(grads)
  })

/** Milliseconds per kernel in one forward + backward step, largest first. */
const stepProfile = async (net: ReturnType<typeof makeNet>, x: tf.Tensor4D): Promise<Record<string, number>> => {
  const info = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(net.loss(x), net.weights)
    for (const g of Object.values(grads)) g.dataSync()
    value.dispose()
    tf.dispose(grads)
  })
  const byKernel = new Map<string, number>()
  for (const k of info.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs))
  return Object.fromEntries(
    [...byKernel].sort((a, b) => b[1] - a[1]).filter(([, ms]) => ms >= 0.5).map(([name, ms]) => [name, Math.round(ms * 10) / 10])
  )
}

const backpropInputMs = (): number => {
  const dy = seeded([BATCH[0], BATCH[1], BATCH[2], CHANNELS], 4) as tf.Tensor4D
  const w = seeded([3, 3, CHANNELS, CHANNELS], 5) as tf.Tensor4D
  const ms = time(() => tf.tidy(() => void tf.conv2dTranspose(dy, w, [BATCH[0], BATCH[1], BATCH[2], CHANNELS], 1, "same").dataSync()))
  tf.dispose([dy, w])
  return ms
}

/** FCN-8s's final upsampling: stride 8, kernel 16, 1/8 resolution -> full resolution. */
const upsample8Ms = (channels: number): number => {
  const x = seeded([BATCH[0], BATCH[1] / 8, BATCH[2] / 8, channels], 6) as tf.Tensor4D
  const w = seeded([16, 16, channels, channels], 7) as tf.Tensor4D
  const ms = time(() => tf.tidy(() => void tf.conv2dTranspose(x, w, [BATCH[0], BATCH[1], BATCH[2], channels], 8, "same").dataSync()))
  tf.dispose([x, w])
  return ms
}

const main = async () => {
  const info = await initBackend("wasm", { source: "the benchmark" })
  const x = seeded(BATCH, 0) as tf.Tensor4D
  const net = makeNet()
  const tensorsBefore = tf.memory().numTensors

  const rstn = {
    forwardMs: forwardMs(net, x),
    forwardBackwardMs: stepMs(net, x),
    conv2dBackpropInputMs: backpropInputMs(),
    upsample8x32chMs: upsample8Ms(32),
    upsample8x2chMs: upsample8Ms(2),
    stepProfileMs: await stepProfile(net, x)
  }
  const tensorsAfter = tf.memory().numTensors

  restoreStockWasmKernels()
  let stockStep: number | string
  try {
    stockStep = stepMs(net, x)
  } catch (e) {
    stockStep = `fails: ${(e as Error).message}`
  }
  const stock = {
    forwardBackwardMs: stockStep,
    conv2dBackpropInputMs: backpropInputMs(),
    upsample8x32chMs: upsample8Ms(32),
    upsample8x2chMs: upsample8Ms(2)
  }
  // A gradient that throws mid-tape leaves the tape's saved activations behind (tfjs does not
  // free them on error); counted separately so the rstn figures above stay meaningful.
  const tensorsAfterStock = tf.memory().numTensors
  registerWasmKernels()

  // Move the data to cpu: variables keep their values across backends.
  await initBackend("cpu", { source: "the benchmark" })
  const cpuForwardMs = forwardMs(net, x, 3)

  tf.dispose([x, ...net.weights])
  const result = {
    case: `3-layer 3x3 conv net, ${CHANNELS} channels, relu, batch ${BATCH.join("x")}, median of ${RUNS}`,
    backend: { name: info.name, version: info.version, simd: info.simd, threads: info.threads },
    wasm: { rstnKernels: rstn, stockKernels: stock },
    cpu: { forwardMs: cpuForwardMs, runs: 3 },
    speedup: {
      conv2dBackpropInput: Math.round((stock.conv2dBackpropInputMs / rstn.conv2dBackpropInputMs) * 10) / 10,
      upsample8x32ch: Math.round((stock.upsample8x32chMs / rstn.upsample8x32chMs) * 10) / 10,
      forwardBackwardOverForward: Math.round((rstn.forwardBackwardMs / rstn.forwardMs) * 10) / 10
    },
    tensors: { before: tensorsBefore, afterRstnRuns: tensorsAfter, afterFailedStockStep: tensorsAfterStock }
  }
  process.stdout.write(JSON.stringify(result, null, 2) + "\n")
}

await main()
