/**
 * `Conv2D` for the wasm backend. In training, the geometries where per-tap matrix products skip
 * most of the work (a large kernel on a small map: fc6; see conv2d-small-map.ts) go there; 3x3
 * stride-1 ones with enough channels to Winograd's F(2x2, 3x3) (conv2d-winograd.ts); other
 * stride-1 convolutions to the fused multiply-add product (conv2d-gemm.ts) where the engine
 * compiles relaxed SIMD; the rest (strides, dilations, NCHW) to the stock XNNPACK kernel.
 */
import * as tf from "@tensorflow/tfjs"
import { forwardByGemm, suitsGemm } from "./conv2d-gemm.ts"
import { forwardByTaps, suitsTaps, suitsTapsGemm } from "./conv2d-small-map.ts"
import { forwardByWinograd, suitsWinograd } from "./conv2d-winograd.ts"
import { gemmOf } from "./gemm-backend.ts"
import { asWasm, type Info } from "./wasm-kernel-utils.ts"

export const conv2dKernel =
  (stock: tf.KernelFunc | undefined): tf.KernelFunc =>
  (args) => {
    if (stock === undefined) throw new Error("Conv2D: the stock wasm kernel is missing")
    const { x, filter } = args.inputs as { x: Info; filter: Info }
    const attrs = args.attrs as unknown as tf.Conv2DAttrs
    if (attrs.dataFormat === "NCHW" || x.dtype !== "float32") return stock(args)
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      "channelsLast"
    )
    const backend = asWasm(args.backend)
    const simd = gemmOf(backend)
    if (simd !== null && suitsTapsGemm(info)) return forwardByTaps(backend, x, filter, info, simd)
    if (training() && suitsTaps(info)) return forwardByTaps(backend, x, filter, info)
    if (simd !== null && suitsWinograd(info)) return forwardByWinograd(backend, simd, x, filter, info)
    return simd === null || !suitsGemm(info) ? stock(args) : forwardByGemm(backend, simd, x, filter, info)
  }

/**
 * True while gradients are being recorded (a training step). XNNPACK's convolution keeps its
 * packed filter while the weights stay the same, so in inference it beats the per-tap products,
 * which pack theirs on every call (measured over a coarse-to-fine test's crop sizes, width 1/4:
 * 20-25% more CPU time); in training the weights change every step and both must pack.
 */
const training = (): boolean => ((tf.engine().state as unknown as { gradientDepth: number }).gradientDepth ?? 0) > 0
