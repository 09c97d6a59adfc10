/**
 * The tiny pipeline made long enough to be killed in the middle of a node: phase J trains for
 * 24 iterations (checkpoints every 2), and the fuse stages binarise at 0.1 so the barely trained
 * networks give non-empty masks and the test loop runs several rounds (each a few hundred ms)
 * instead of converging on two empty masks at round 1.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { tinyPipelineYaml } from "./tiny.ts"

const edit = (text: string, from: string, to: string): string => {
  if (!text.includes(from)) throw new Error(`the tiny pipeline no longer contains '${from}': update long-tiny.ts`)
  return text.split(from).join(to)
}

export const J_ITERATIONS = 24

export const longTinyYaml = (dataDir: string, runDir: string, extra = ""): string => {
  let y = tinyPipelineYaml(dataDir, runDir, extra)
  y = edit(y, "{ name: J, crop-from: coarse, saliency: true, iterations: 8 }", `{ name: J, crop-from: coarse, saliency: true, iterations: ${J_ITERATIONS} }`)
  // Both fuse stages: the coarse round's and the loop's.
  const fuses = y.match(/^ *- fuse$/gm)?.length ?? 0
  if (fuses !== 2) throw new Error(`the tiny pipeline has ${fuses} plain fuse stages, not 2: update long-tiny.ts`)
  y = y.replace(/^( *- fuse)$/gm, "$1: { threshold: 0.1, components: all }")
  y = edit(y, "max-rounds: 3", "max-rounds: 6")
  return y
}

/** A fresh directory holding the pipeline file; its default run directory is `<dir>/run`. */
export const longTiny = (dataDir: string, extra = ""): { readonly dir: string; readonly file: string; readonly runDir: string } => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-long-"))
  const runDir = path.join(dir, "run")
  const file = path.join(dir, "long.yaml")
  fs.writeFileSync(file, longTinyYaml(dataDir, runDir, extra))
  return { dir, file, runDir }
}
