/**
 * The version of rstn's numerics: every node that runs code from `src/ops` (training, coarse
 * inference, the coarse-to-fine test) hashes it into its key, so results an older engine computed
 * are not taken from cache once the numbers would differ; `rstn plan` names it as the reason.
 *
 * Bump it by hand, in the same commit, whenever a change to `src/ops` (or the tensor kernels it
 * registers) can change any number a node writes: a layer, an initialiser, a loss, the optimiser,
 * the sampler's random stream, a kernel's rounding. Refactors that leave every output bit-identical
 * (the kill/resume and executor tests compare runs to the bit) need no bump.
 *
 * 1: the first versioned engine (2026-12).
 * 2: main's engine-speed work (fused kernels, per-tap fc6 products; issue 10), merged into the
 *    executors branch: the demo's numbers changed (README: final DSC 57.16, was 55.63).
 * 3: the convolutions on rstn's fused multiply-add product (gemm-simd.ts; issue 10), fc6 and fc7
 *    included: one rounding per multiply-add instead of XNNPACK's two.
 * 4: 3x3 stride-1 convolutions with 16 channels or more, their input and filter gradients, by
 *    Winograd's F(2x2, 3x3) (conv2d-winograd.ts; issue 10): the transforms round differently.
 */
export const ENGINE_VERSION = 4
