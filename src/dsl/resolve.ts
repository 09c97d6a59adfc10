/**
 * The last step before the runtime sees a pipeline: values that depend on context rather than
 * on the schema alone are made explicit, so the runtime (and the node keys it hashes) never
 * interprets a shorthand.
 * - `weights: last` becomes the name of the last phase that trains that network;
 * - `{name}` in `run.dir` becomes the pipeline's name;
 * - relative input paths become absolute, against the directory of the file that declared them
 *   (a value from `--set` or a default: the current directory). A Decathlon root written in
 *   `pipelines/base.yaml` as `../data/x` therefore means the same thing from every variant.
 *   The run directory is an output: it is relative to the current directory, written or not,
 *   so `runs/{name}` lands where rstn runs, not beside the pipeline files.
 *   `pairs` image/label paths stay relative to `base`, which defaults to the directory of the
 *   file that lists the pairs (the dataset loader keeps them inside it).
 */
import * as path from "node:path"
import { phasesTraining } from "./checks.ts"
import { type BodyStage, LAST, type Pipeline, type Stage } from "./pipeline.ts"
import type { Path } from "./tree.ts"

export interface ResolveContext {
  readonly cwd: string
  /** Whether the value at this YAML path was written (rather than a default). */
  readonly written: (path: Path) => boolean
  /** Absolute directory that relative paths declared at this YAML path are relative to. */
  readonly dirOf: (path: Path) => string
}

const abs = (p: string, dir: string): string => path.resolve(dir, p)

export const resolveValues = (p: Pipeline, ctx: ResolveContext): Pipeline => {
  const lastCoarse = phasesTraining(p, "coarse")[0] ?? LAST
  const lastFine = phasesTraining(p, "fine")[0] ?? LAST
  const stage = <S extends Stage | BodyStage>(s: S): S => {
    switch (s.kind) {
      case "coarse":
        return s.weights === LAST ? { ...s, weights: lastCoarse } : s
      case "fine":
        return s.weights === LAST ? { ...s, weights: lastFine } : s
      case "converge-until":
        return { ...s, body: s.body.map(stage) }
      default:
        return s
    }
  }
  const src = p.dataset.source
  const at = (...segments: Path) => ctx.dirOf(["dataset", "source", ...segments])
  const source: Pipeline["dataset"]["source"] =
    src.kind === "phantom"
      ? { ...src, dir: abs(src.dir, at("dir")) }
      : src.kind === "decathlon"
        ? { ...src, root: abs(src.root, at("root")) }
        : src.kind === "nih-pancreas"
          ? { ...src, images: abs(src.images, at("images")), labels: abs(src.labels, at("labels")) }
          : { ...src, base: ctx.written(["dataset", "source", "base"]) ? abs(src.base, at("base")) : at("pairs") }
  const pretrained = p.networks.pretrained
  return {
    ...p,
    dataset: { ...p.dataset, source },
    networks: {
      ...p.networks,
      pretrained: pretrained === null ? null : { ...pretrained, file: abs(pretrained.file, ctx.dirOf(["networks", "pretrained", "file"])) }
    },
    test: { ...p.test, stages: p.test.stages.map(stage) },
    run: { ...p.run, dir: abs(p.run.dir.replaceAll("{name}", p.name), ctx.cwd) }
  }
}
