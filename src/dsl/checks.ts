/**
 * Checks that relate several fields of a decoded pipeline, beyond what each value's type says:
 * folds that exist, per-channel biases that match the slice thickness, training phases that
 * agree with the saliency transform and the training mode, test stages in an order that can run
 * (a crop needs a mask, a fine needs a crop, a loop needs a fuse), weights references to phases
 * that exist and train that network, and oracle modes that agree with the stages.
 *
 * Paths given to `locate` are YAML (kebab-case) paths, so each problem points at its value.
 */
import { type Diagnostic, diagnostic, type DiagnosticCode, type Origin } from "./diagnostic.ts"
import { didYouMean } from "./did-you-mean.ts"
import { type BodyStage, LAST, NOISY, type Pipeline, type Stage } from "./pipeline.ts"
import { formatPath, type Path } from "./tree.ts"

export interface Locator {
  /** Where the value at a YAML path was written (its nearest written ancestor for defaults). */
  readonly locate: (path: Path, options?: { readonly key?: boolean }) => Origin
  /** Whether the path is written (in a file or a flag) rather than a default. */
  readonly written: (path: Path) => boolean
}

export type NetworkName = "coarse" | "fine"

/** Phase names whose weights a `coarse` or `fine` stage may use, last one first. */
export const phasesTraining = (p: Pipeline, net: NetworkName): ReadonlyArray<string> => {
  const { mode, phases, noisyFineTune } = p.training
  const named = mode === "joint" ? phases.map((ph) => ph.name) : phases.filter((ph) => ph.name === net).map((ph) => ph.name)
  // Noisy-data fine-tuning trains the whole framework in joint mode, the fine network in stage-wise mode.
  const noisy = noisyFineTune !== null && (mode === "joint" || net === "fine") ? [NOISY] : []
  return [...named, ...noisy].reverse()
}

/** Whether the fine network of a phase was trained on saliency-weighted input. */
const phaseAppliesSaliency = (p: Pipeline, name: string): boolean =>
  name === NOISY ? p.saliency !== null && p.training.mode === "joint" : p.training.phases.find((ph) => ph.name === name)?.saliency === true

/** Indices of values seen before in the list (linear: a hostile list can be 100,000 long). */
const duplicates = <A>(xs: ReadonlyArray<A>): ReadonlyArray<number> => {
  const seen = new Set<A>()
  const out: number[] = []
  xs.forEach((x, i) => (seen.has(x) ? out.push(i) : seen.add(x)))
  return out
}

/** A top-level section of a pipeline (decoded names). */
export type Section = keyof Pipeline

/**
 * `decoded`: the sections that decoded, when the whole pipeline did not (a type error in one
 * section must not hide the cross-field problems of the others). A group of checks runs only
 * when every section it reads decoded; `p` holds defaults in place of the others.
 */
export const checkPipeline = (p: Pipeline, where: Locator, decoded?: ReadonlySet<Section>): ReadonlyArray<Diagnostic> => {
  const out: Diagnostic[] = []
  const reads = (...sections: ReadonlyArray<Section>): boolean => decoded === undefined || sections.every((s) => decoded.has(s))
  /**
   * Reports at `path`; when that value is a default (not written anywhere) and the conflict
   * comes from a value that is written (`related`), points there instead.
   */
  const report = (path: Path, code: DiagnosticCode, message: string, hint?: string, key = false, related?: Path): void => {
    const target = !where.written(path) && related !== undefined && where.written(related) ? related : path
    out.push(diagnostic(where.locate(target, { key: key || target !== path }), code, `${formatPath(path)}: ${message}`, hint))
  }

  // --- dataset -------------------------------------------------------------------------------
  const ds = p.dataset
  if (reads("dataset")) checkDataset()
  function checkDataset(): void {
    if (ds.fold !== "all") {
      ds.fold.forEach((f, i) => {
        if (f >= ds.folds) report(["dataset", "fold", i], "range", `fold ${f} does not exist with ${ds.folds} folds`, `folds are numbered 0 to ${ds.folds - 1}`)
      })
      for (const i of duplicates(ds.fold)) report(["dataset", "fold", i], "duplicate", `fold ${ds.fold[i]} is listed twice`)
    }
    if (ds.window[0] >= ds.window[1]) report(["dataset", "window"], "range", `the low end ${ds.window[0]} must be below the high end ${ds.window[1]}`, "write [low, high] in HU, e.g. [-100, 240]")
    if (ds.foreground !== "nonzero") {
      for (const i of duplicates(ds.foreground)) report(["dataset", "foreground", i], "duplicate", `label ${ds.foreground[i]} is listed twice`)
    }
    const src = ds.source
    if (src.kind === "phantom" && src.cases < ds.folds) {
      report(["dataset", "source", "cases"], "range", `${src.cases} cases cannot fill ${ds.folds} folds`, `use at least ${ds.folds} cases or fewer folds`)
    }
    if (src.kind === "pairs" || src.kind === "dicom") {
      if (src.pairs.length < ds.folds) report(["dataset", "source", "pairs"], "range", `${src.pairs.length} pairs cannot fill ${ds.folds} folds`, `list at least ${ds.folds} pairs or set dataset.folds`)
      const ids = src.pairs.map((c) => c.id)
      for (const i of duplicates(ids)) {
        if (ids[i] !== undefined) report(["dataset", "source", "pairs", i, "id"], "duplicate", `case id '${ids[i]}' is used twice`)
      }
    }
  }
  if (reads("views")) for (const i of duplicates(p.views)) report(["views", i], "duplicate", `view ${p.views[i]} is listed twice`)

  // --- saliency --------------------------------------------------------------------------------
  const channels = p.sliceThickness
  if (reads("saliency", "sliceThickness")) p.saliency?.layers.forEach((layer, i) => {
    const bias = layer.init.bias
    if (typeof bias !== "number" && bias.length !== channels) {
      report(["saliency", "layers", i, "init", "bias"], "range", `${bias.length} biases for ${channels} channel${channels === 1 ? "" : "s"}`, `give one number, or ${channels} (slice-thickness is ${channels})`)
    }
  })

  // --- training --------------------------------------------------------------------------------
  const t = p.training
  const phases = t.phases
  const noisy = t.noisyFineTune
  const usesSaliency = phases.some((ph) => ph.saliency) || (noisy !== null && t.mode === "joint")
  if (reads("training", "saliency")) checkTraining()
  function checkTraining(): void {
    phases.forEach((ph, i) => {
      const at: Path = ["training", "phases", i]
      if (ph.name === LAST || ph.name === NOISY) report([...at, "name"], "reference", `'${ph.name}' is a reserved name`, ph.name === NOISY ? "use training.noisy-fine-tune for noisy-data fine-tuning" : "choose another phase name")
      if (ph.epochs === undefined && ph.iterations === undefined) report(at, "missing-key", `phase ${ph.name} needs epochs or iterations`)
      if (ph.epochs !== undefined && ph.iterations !== undefined) report([...at, "iterations"], "inconsistent", `phase ${ph.name} gives both epochs and iterations`, "keep one", true)
      if (ph.saliency && p.saliency === null) report([...at, "saliency"], "inconsistent", `phase ${ph.name} applies saliency but the pipeline has no saliency transform`, "set saliency: false here, or define saliency.layers", false, ["saliency"])
    })
    for (const i of duplicates(phases.map((ph) => ph.name))) report(["training", "phases", i, "name"], "duplicate", `phase name ${phases[i]!.name} is used twice`)
    const noisy = t.noisyFineTune
    if (noisy !== null) {
      const at: Path = ["training", "noisy-fine-tune"]
      if (noisy.epochs === undefined && noisy.iterations === undefined) report(at, "missing-key", "needs epochs or iterations", "the paper fine-tunes for 40,000 iterations", true)
      if (noisy.epochs !== undefined && noisy.iterations !== undefined) report([...at, "iterations"], "inconsistent", "gives both epochs and iterations", "keep one", true)
    }
    if (t.mode === "stage-wise") {
      if (p.saliency !== null) report(["saliency"], "inconsistent", "stage-wise training has no saliency transform", "set saliency: null (or training.mode: joint)", true, ["training", "mode"])
      phases.forEach((ph, i) => {
        const at: Path = ["training", "phases", i]
        if (ph.name !== "coarse" && ph.name !== "fine") {
          const guess = didYouMean(ph.name, ["coarse", "fine"])
          report([...at, "name"], "reference", `stage-wise phases are named coarse and fine, got '${ph.name}'`, guess !== undefined ? `did you mean '${guess}'?` : undefined, false, ["training", "mode"])
        }
        if (ph.name === "coarse" && ph.unroll !== undefined) {
          report([...at, "unroll"], "inconsistent", "the stage-wise coarse phase runs no fine pass to unroll", "move unroll to the fine phase, or remove it")
        }
        if (ph.name === "fine" && ph.cropFrom !== "label") {
          report([...at, "crop-from"], "inconsistent", "the stage-wise fine network trains on crops by the label (Zhou et al.)", "use training.noisy-fine-tune for crops from the coarse mask")
        }
      })
      for (const net of ["coarse", "fine"] as const) {
        if (!phases.some((ph) => ph.name === net)) report(["training", "phases"], "missing-key", `stage-wise training needs a phase named ${net}`, undefined, true, ["training", "mode"])
      }
    } else if (p.saliency !== null && !usesSaliency) {
      report(["saliency"], "inconsistent", "a saliency transform is defined but no training phase applies it", "set saliency: true on a phase (I and J in the reference), or saliency: null", true, ["training", "phases"])
    }
  }

  // --- test stages -----------------------------------------------------------------------------
  interface State {
    /** Network output not yet fused into a mask. */
    pending: boolean
    /** A score map exists (for saliency-transform). */
    scores: boolean
    /** A mask exists (for crop by previous-mask). */
    mask: boolean
    /** A fused mask exists (what converge-until compares). */
    fused: boolean
    crop: boolean
    saliency: boolean
  }
  const oracle = p.evaluation.oracle
  let oracleCropInLoop = false
  let oracleCrop = false
  let oracleSaliency = false
  let loopPath: Path | undefined
  const checkWeights = (stage: { readonly weights: string }, net: NetworkName, at: Path): string | undefined => {
    const allowed = phasesTraining(p, net)
    if (stage.weights === LAST) return allowed[0]
    if (allowed.includes(stage.weights)) return stage.weights
    const known = phases.some((ph) => ph.name === stage.weights) || (stage.weights === NOISY && noisy !== null)
    const guess = didYouMean(stage.weights, allowed)
    report(
      [...at, net, "weights"],
      "reference",
      known ? `phase ${stage.weights} does not train the ${net} network` : `no training phase named '${stage.weights}'`,
      guess !== undefined && !known ? `did you mean '${guess}'?` : `phases that train it: ${allowed.join(", ") || "none"}`
    )
    return undefined
  }
  const walk = (stages: ReadonlyArray<Stage | BodyStage>, prefix: Path, s: State, inLoop: boolean): State => {
    stages.forEach((stage, i) => {
      const at: Path = [...prefix, i]
      const order = (message: string, hint?: string) => report(at, "stage-order", message, hint)
      switch (stage.kind) {
        case "coarse":
          if (inLoop) order("coarse inside converge-until would repeat round 0 every round", "put coarse before the loop")
          checkWeights(stage, "coarse", at)
          Object.assign(s, { pending: true, scores: true, mask: true, crop: false, saliency: false })
          break
        case "saliency-transform":
          if (p.saliency === null) report(at, "inconsistent", "saliency-transform, but the pipeline has no saliency transform (saliency: null)", "remove this stage or define saliency.layers", false, ["saliency"])
          if (stage.from === "oracle") {
            oracleSaliency = true
            if (oracle !== "strong") report(at, "inconsistent", "saliency from the oracle is the strong oracle test", oracle === "none" ? "set evaluation.oracle: strong" : "the weak oracle takes its saliency from the iteration: from: previous")
          } else if (!s.scores) {
            order("saliency-transform needs a score map before it", "put coarse (and fuse) before it")
          }
          s.saliency = true
          break
        case "crop":
          if (stage.by === "oracle-box") {
            oracleCrop = true
            if (inLoop) oracleCropInLoop = true
            if (oracle === "none") report(at, "inconsistent", "cropping by the ground-truth box is an oracle test", "set evaluation.oracle: strong or weak")
          } else if (!s.mask) {
            order("crop by previous-mask needs a mask before it", "put a coarse or a fuse stage before it")
          }
          s.crop = true
          break
        case "fine": {
          if (!s.crop) order("fine needs a crop before it", "put a crop stage before it")
          const phase = checkWeights(stage, "fine", at)
          if (phase !== undefined && p.saliency !== null) {
            const trained = phaseAppliesSaliency(p, phase)
            if (trained && !s.saliency) report(at, "inconsistent", `the fine weights of phase ${phase} were trained on saliency-weighted input`, "put saliency-transform before the crop", false, ["training", "phases"])
            if (!trained && s.saliency) report(at, "inconsistent", `the fine weights of phase ${phase} were trained without saliency`, "remove saliency-transform, or use a phase trained with saliency", false, ["training", "phases"])
          }
          Object.assign(s, { pending: true, scores: true, crop: false, saliency: false })
          break
        }
        case "fuse":
          if (!s.pending) order("fuse needs network output before it", "put coarse or fine before it")
          Object.assign(s, { pending: false, scores: true, mask: true, fused: true })
          break
        case "converge-until": {
          loopPath = at
          if (oracle === "strong") report(at, "inconsistent", "the strong oracle needs no iteration", "remove converge-until (crop by oracle-box, fine, fuse)", false, ["evaluation", "oracle"])
          if (!s.fused || s.pending) order("converge-until needs a fused mask before it (round 0)", "put coarse and fuse before it")
          const bodyPath: Path = [...at, "converge-until", "body"]
          const end = walk(stage.body, bodyPath, { ...s }, true)
          if (!stage.body.some((b) => b.kind === "fuse")) report(bodyPath, "stage-order", "converge-until needs a fuse in its body: rounds compare fused masks", undefined, true)
          else if (end.pending) report([...bodyPath, stage.body.length - 1], "stage-order", "the body must end with a fuse")
          if (!stage.body.some((b) => b.kind === "fine")) report(bodyPath, "stage-order", "converge-until has no fine stage: every round would give the same mask", undefined, true)
          // A loop yields a fused mask by definition; a body that does not is reported above.
          Object.assign(s, end, { pending: false, mask: true, fused: true })
          break
        }
      }
    })
    return s
  }
  const stages = p.test.stages
  if (reads("test", "training", "saliency", "evaluation")) checkStages()
  function checkStages(): void {
    const end = walk(stages, ["test", "stages"], { pending: false, scores: false, mask: false, fused: false, crop: false, saliency: false }, false)
    if (end.pending || !end.fused) {
      report(["test", "stages", stages.length - 1], "stage-order", "the test must end with a fuse (or a converge-until) to produce a mask")
    }
    if (oracle === "strong") {
      if (!oracleCrop) report(["evaluation", "oracle"], "inconsistent", "the strong oracle crops by the ground-truth box, but no stage does", "use crop: { by: oracle-box }")
      if (p.saliency !== null && !oracleSaliency) report(["evaluation", "oracle"], "inconsistent", "the strong oracle also weights by the ground truth, but no stage does", "use saliency-transform: { from: oracle }")
    }
    if (oracle === "weak") {
      if (loopPath === undefined) report(["evaluation", "oracle"], "inconsistent", "the weak oracle iterates to convergence, but there is no converge-until stage")
      else if (!oracleCropInLoop) report(["evaluation", "oracle"], "inconsistent", "the weak oracle crops by the ground-truth box in every round, but the loop does not", "use crop: { by: oracle-box } in the converge-until body")
    }
  }

  // --- evaluation ------------------------------------------------------------------------------
  if (reads("evaluation")) for (const i of duplicates(p.evaluation.thresholds)) report(["evaluation", "thresholds", i], "duplicate", `threshold ${p.evaluation.thresholds[i]} is listed twice`)

  return out
}
