/**
 * A pipeline small enough for tests: 4 small phantom cases in 2 folds (fold 0 runs), one view,
 * a tiny network and a few iterations per phase, checkpoints every 2 iterations. Its files live
 * in a temporary directory, phantoms included.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export interface TinyPipeline {
  readonly dir: string
  readonly file: string
  readonly runDir: string
}

export const tinyPipelineYaml = (dataDir: string, runDir: string, extra = ""): string => `
name: tiny
seed: 3
dataset:
  source: { kind: phantom, dir: ${JSON.stringify(dataDir)}, cases: 4, size: small, seed: 11 }
  folds: 2
  fold: [0]
views: [Z]
networks:
  coarse: { width: 0.0625, blocks: 3, norm: batch, dropout: 0 }
  fine: { width: 0.0625, blocks: 3, norm: batch, dropout: 0 }
saliency:
  layers:
    - { kernel: 3, activation: relu, init: { weights: xavier-normal, bias: 1 } }
    - { kernel: 5, activation: none, init: { weights: zeros, bias: [1.0, 1.5, 2.0] } }
crop: { margin: 5, jitter: { probability: 0.5, max: 10 } }
training:
  optimizer: { kind: adam, lr: 3.0e-3 }
  phases:
    - { name: S, crop-from: label, saliency: false, iterations: 6 }
    - { name: I, crop-from: label, saliency: true, iterations: 6 }
    - { name: J, crop-from: coarse, saliency: true, iterations: 8 }
  batch-size: 2
  checkpoint-every: 2
test:
  stages:
    - coarse
    - fuse
    - converge-until:
        threshold: 0.99
        max-rounds: 3
        body:
          - saliency-transform
          - crop: { by: previous-mask, margin: 5 }
          - fine
          - fuse
run:
  dir: ${JSON.stringify(runDir)}
${extra}`

/** A fresh directory with the pipeline file; the phantom data directory is shared by `dataDir`. */
export const tinyPipeline = (dataDir: string, extra = ""): TinyPipeline => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-tiny-"))
  const runDir = path.join(dir, "run")
  const file = path.join(dir, "tiny.yaml")
  fs.writeFileSync(file, tinyPipelineYaml(dataDir, runDir, extra))
  return { dir, file, runDir }
}
