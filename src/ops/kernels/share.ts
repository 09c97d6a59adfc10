/**
 * `Identity` and same-dtype `Cast` for the wasm backend without a copy.
 *
 * Under a gradient tape tfjs clones every tensor a kernel saves for the backward pass
 * (tfjs-core engine.ts `saveTensorsForBackwardMode` runs Identity), and the gradient of a clone
 * is a Cast to float32. The stock wasm kernels copy the memory each time, where the cpu backend
 * shares it: about 1,100 copies per training step of the width-1/4 RSTN, some of them the
 * 6.4M-float fc6 kernel. tfjs tensors are immutable and no kernel writes into its inputs, so the
 * result can share the input's memory under a reference count, as the stock wasm Reshape does.
 */
import type * as tf from "@tensorflow/tfjs"
import { asWasm, type Info } from "./wasm-kernel-utils.ts"

const share = (backend: ReturnType<typeof asWasm>, x: Info): Info => {
  backend.incRef(x.dataId)
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype }
}

/** Identity: strings (kept on the JS side) go to the stock kernel. */
export const identityKernel =
  (stock: tf.KernelFunc | undefined): tf.KernelFunc =>
  (args) => {
    const { x } = args.inputs as { x: Info }
    if (x.dtype === "string") {
      if (stock === undefined) throw new Error("Identity: string tensors need the stock wasm kernel")
      return stock(args)
    }
    return share(asWasm(args.backend), x)
  }

/** Cast to the dtype a tensor already has shares it; real conversions go to the stock kernel. */
export const castKernel =
  (stock: tf.KernelFunc | undefined): tf.KernelFunc =>
  (args) => {
    const { x } = args.inputs as { x: Info }
    const { dtype } = args.attrs as unknown as tf.CastAttrs
    if (dtype === x.dtype && dtype !== "string") return share(asWasm(args.backend), x)
    if (stock === undefined) throw new Error(`Cast from ${x.dtype} to ${dtype}: the stock wasm kernel is missing`)
    return stock(args)
  }
