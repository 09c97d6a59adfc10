/**
 * Named maps from other frameworks' state dicts onto rstn's parameter names and layouts:
 *
 * - `torchvision-vgg16`: torchvision's ImageNet VGG16 (`features.N`, `classifier.0/3/6`) onto
 *   FCN-8s's trunk under `fcn8s/`, as FCN-8s was made from VGG16 (Long et al. 2015): the conv
 *   blocks as they are, the fully connected fc6 and fc7 turned into 7x7 and 1x1 convolutions;
 *   the 1000-class classifier.6 has no counterpart (FCN-8s's score layers are new) and is dropped.
 * - `organseg-fcn8s`: the FCN8s module of the release's PyTorch port (OrganSegRSTN_PyTorch
 *   `model.py`, and `fcn8s_from_caffe.pth`, the PASCAL FCN-8s it starts from) onto `fcn8s/`.
 * - `organseg-rstn`: the port's RSTN state dict (`coarse_model.`, `fine_model.`, `saliency1`,
 *   `saliency2`) onto `coarse/`, `fine/` and `saliency/`.
 *
 * Layouts: PyTorch convolutions are [out, in, h, w] (OIHW), tfjs kernels [h, w, in, out] (HWIO);
 * transposed convolutions are [in, out, h, w] in PyTorch and [h, w, out, in] in tfjs; a Linear
 * layer is [out, in] and reads its input flattened in (C, H, W) order, so fc6's column
 * c*49 + y*7 + x is the 7x7 kernel's tap (y, x) on channel c.
 *
 * The result is then placed by `pretrained.mappings` (e.g. `fcn8s/` onto `coarse/` and `fine/`).
 */
import { Either } from "effect"
import type { NamedArray } from "../train/checkpoint.ts"
import type { WeightMap } from "./map-names.ts"
import { type SourceTensor, WeightsFileError } from "./weights-error.ts"


/** FCN-8s's fc6 kernel size: VGG16's last pool is 7x7 at 224x224 inputs. */
const FC6_KERNEL = 7

/** VGG-16 configuration D: convolutions per block (Simonyan & Zisserman 2015). */
const VGG16_BLOCKS = [2, 2, 3, 3, 3]

type Convert = (t: SourceTensor) => { shape: number[]; data: Float32Array } | string

interface Rule {
  readonly source: string
  readonly target: string
  readonly convert: Convert
  /** Must be in the file (unless skipped); optional ones are loaded when present. */
  readonly required: boolean
}

const shapeText = (s: ReadonlyArray<number>) => `[${s.join(",")}]`

const asIs: Convert = (t) => (t.shape.length === 1 ? { shape: [...t.shape], data: t.data } : `a bias must be 1-D, the file has ${shapeText(t.shape)}`)

/**
 * PyTorch's [a, b, h, w] weight layout to TensorFlow's [h, w, b, a]: a convolution's [out, in, h, w]
 * becomes HWIO, a transposed convolution's [in, out, h, w] becomes [h, w, out, in] (conv2dTranspose's
 * filter). One permutation; `kind` and `layout` name the tensor in the error for a tensor of another rank.
 */
const spatialLast = (kind: string, layout: string): Convert => (t) => {
  if (t.shape.length !== 4) return `a ${kind} weight must be 4-D [${layout}], the file has ${shapeText(t.shape)}`
  const [a, b, h, w] = t.shape as [number, number, number, number]
  const out = new Float32Array(t.data.length)
  for (let p = 0; p < a; p++)
    for (let q = 0; q < b; q++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((y * w + x) * b + q) * a + p] = t.data[((p * b + q) * h + y) * w + x]!
  return { shape: [h, w, b, a], data: out }
}

/** [o, i, h, w] -> [h, w, i, o]. */
export const oihwToHwio: Convert = spatialLast("convolution", "out, in, h, w")

/** Transposed convolution [i, o, h, w] -> [h, w, o, i]. */
const iohwToHwoi: Convert = spatialLast("transposed-convolution", "in, out, h, w")

/**
 * A Linear [out, c*k*k] as a k x k convolution [k, k, c, out]: the Linear saw its input
 * flattened as (C, H, W), so column c*k*k + y*k + x is tap (y, x) of channel c.
 */
export const linearToConv =
  (k: number): Convert =>
  (t) => {
    if (t.shape.length !== 2) return `a Linear weight must be 2-D [out, in], the file has ${shapeText(t.shape)}`
    const [o, n] = t.shape as [number, number]
    if (n % (k * k) !== 0) return `a Linear weight of ${n} inputs cannot be a ${k}x${k} convolution (${n} is not a multiple of ${k * k})`
    const c = n / (k * k)
    const out = new Float32Array(t.data.length)
    for (let a = 0; a < o; a++) {
      const row = a * n
      for (let ch = 0; ch < c; ch++)
        for (let y = 0; y < k; y++)
          for (let x = 0; x < k; x++) out[((y * k + x) * c + ch) * o + a] = t.data[row + (ch * k + y) * k + x]!
    }
    return { shape: [k, k, c, o], data: out }
  }

const conv = (source: string, target: string, required = true): Rule[] => [
  { source: `${source}.weight`, target: `${target}/kernel`, convert: oihwToHwio, required },
  { source: `${source}.bias`, target: `${target}/bias`, convert: asIs, required }
]

const torchvisionVgg16 = (): { rules: Rule[]; dropped: string[] } => {
  const rules: Rule[] = []
  let index = 0
  VGG16_BLOCKS.forEach((n, b) => {
    for (let i = 0; i < n; i++) {
      rules.push(...conv(`features.${index}`, `fcn8s/conv${b + 1}_${i + 1}`))
      index += 2 // Conv2d, ReLU
    }
    index += 1 // MaxPool2d
  })
  rules.push(
    { source: "classifier.0.weight", target: "fcn8s/fc6/kernel", convert: linearToConv(FC6_KERNEL), required: true },
    { source: "classifier.0.bias", target: "fcn8s/fc6/bias", convert: asIs, required: true },
    { source: "classifier.3.weight", target: "fcn8s/fc7/kernel", convert: linearToConv(1), required: true },
    { source: "classifier.3.bias", target: "fcn8s/fc7/bias", convert: asIs, required: true }
  )
  return { rules, dropped: ["classifier.6.weight", "classifier.6.bias"] }
}

/** The port's FCN8s module under `prefix` (its names are Caffe's FCN-8s names, as rstn's are). */
const organsegFcn8s = (prefix: string, target: string): Rule[] => {
  const rules: Rule[] = []
  VGG16_BLOCKS.forEach((n, b) => {
    for (let i = 0; i < n; i++) rules.push(...conv(`${prefix}conv${b + 1}_${i + 1}`, `${target}/conv${b + 1}_${i + 1}`))
  })
  rules.push(...conv(`${prefix}fc6`, `${target}/fc6`), ...conv(`${prefix}fc7`, `${target}/fc7`))
  // Score and upsampling layers depend on the class count (21 in the PASCAL model the port
  // starts from, 3 in its RSTN): loaded when present, skipped as the port does with `skip`.
  for (const s of ["score_fr", "score_pool4", "score_pool3"]) rules.push(...conv(`${prefix}${s}`, `${target}/${s}`, false))
  for (const u of ["upscore2", "upscore_pool4", "upscore8"]) {
    rules.push({ source: `${prefix}${u}.weight`, target: `${target}/${u}/kernel`, convert: iohwToHwoi, required: false })
  }
  return rules
}

const organsegRstn = (): Rule[] => [
  ...organsegFcn8s("coarse_model.", "coarse").map((r) => ({ ...r, required: !r.target.includes("score") })),
  ...organsegFcn8s("fine_model.", "fine").map((r) => ({ ...r, required: !r.target.includes("score") })),
  ...conv("saliency1", "saliency/conv1"),
  ...conv("saliency2", "saliency/conv2")
]

const rulesOf = (map: Exclude<WeightMap, "none">): { rules: Rule[]; dropped: string[] } =>
  map === "torchvision-vgg16"
    ? torchvisionVgg16()
    : map === "organseg-fcn8s"
      ? { rules: organsegFcn8s("", "fcn8s"), dropped: [] }
      : { rules: organsegRstn(), dropped: [] }

export interface MappedWeights {
  /** Tensors under rstn's names, in rstn's layout; `source` is the file's name. */
  readonly tensors: ReadonlyArray<NamedArray & { readonly source: string }>
  /** File tensors the map leaves out by design (e.g. VGG16's ImageNet classifier). */
  readonly dropped: ReadonlyArray<string>
  /** File tensors left out because `skip` names them. */
  readonly skipped: ReadonlyArray<string>
}

const listed = (xs: ReadonlyArray<string>) => (xs.length <= 6 ? xs.join(", ") : `${xs.slice(0, 6).join(", ")} and ${xs.length - 6} more`)

/**
 * Renames and re-lays out a file's tensors with a named map. Every tensor the map needs must be
 * in the file and every tensor of the file must be known to the map, except those whose names
 * start with one of `skip`; a DataParallel `module.` prefix on every name is taken off.
 */
export const applyMap = (
  map: WeightMap,
  tensors: ReadonlyArray<SourceTensor>,
  options: { readonly file: string; readonly skip?: ReadonlyArray<string> }
): Either.Either<MappedWeights, WeightsFileError> => {
  const { file } = options
  const skip = options.skip ?? []
  const isSkipped = (name: string) => skip.some((s) => name.startsWith(s))
  const skipped = tensors.filter((t) => isSkipped(t.name)).map((t) => t.name)
  const kept = tensors.filter((t) => !isSkipped(t.name))
  if (map === "none") {
    return Either.right({ tensors: kept.map((t) => ({ name: t.name, shape: t.shape, data: t.data, source: t.name })), dropped: [], skipped })
  }
  const parallel = kept.length > 0 && kept.every((t) => t.name.startsWith("module."))
  const bare = (name: string) => (parallel ? name.slice("module.".length) : name)
  const byName = new Map(kept.map((t) => [bare(t.name), t]))
  const { rules, dropped } = rulesOf(map)
  const known = new Set([...rules.map((r) => r.source), ...dropped])
  const missing = rules.filter((r) => r.required && !byName.has(r.source) && !isSkipped(r.source) && !isSkipped(`module.${r.source}`)).map((r) => r.source)
  if (missing.length > 0) {
    return Either.left(
      new WeightsFileError({
        file,
        tensor: missing[0]!,
        reason: `missing from the file, which the ${map} map needs${missing.length > 1 ? ` (and ${listed(missing.slice(1))})` : ""}`,
        hint: `use a complete state dict for ${map}, or list the names under pretrained.skip (weights convert --skip) to keep rstn's initial values`
      })
    )
  }
  const unknown = kept.filter((t) => !known.has(bare(t.name))).map((t) => t.name)
  if (unknown.length > 0) {
    return Either.left(
      new WeightsFileError({
        file,
        tensor: unknown[0]!,
        reason: `not part of the ${map} map${unknown.length > 1 ? ` (nor ${listed(unknown.slice(1))})` : ""}`,
        hint: `check that the file holds what ${map} expects (\`rstn weights inspect FILE\` lists it), choose another map, or list the names under pretrained.skip`
      })
    )
  }
  const out: Array<NamedArray & { source: string }> = []
  for (const r of rules) {
    const t = byName.get(r.source)
    if (t === undefined) continue
    const converted = r.convert(t)
    if (typeof converted === "string") {
      return Either.left(new WeightsFileError({ file, tensor: t.name, reason: `cannot become ${r.target}: ${converted}`, hint: `the file does not hold ${map}'s layers; check it with \`rstn weights inspect\`` }))
    }
    out.push({ name: r.target, shape: converted.shape, data: converted.data, source: t.name })
  }
  return Either.right({ tensors: out, dropped: kept.filter((t) => dropped.includes(bare(t.name))).map((t) => t.name), skipped })
}
