/**
 * Fault scenarios for `rstn run`: the tiny pipeline over a `pairs` dataset of the 4 phantom cases
 * (fold 0 tests case_000 and case_001 and trains on case_002 and case_003), one copy of the data
 * and one run directory per scenario, so each can damage its own files. A scenario may start from
 * a base run's finished training nodes: copies of the data keep the files' modification times,
 * so the fingerprints, and the training nodes' keys, are the base run's.
 */
import { Effect, type Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { loadPipeline } from "../../../src/dsl/load.ts"
import type { Volume } from "../../../src/ops/volume.ts"
import type { FileSystem } from "../../../src/runtime/file-system.ts"
import { readNiftiFile, writeNiftiFile } from "../../../src/runtime/nifti-file.ts"
import { writePhantomDataset } from "../../../src/runtime/phantom-dataset.ts"
import { readRunRecord, runPipeline } from "../../../src/runtime/run-pipeline.ts"
import { tinyPipelineYaml } from "./tiny.ts"

export const CASES = ["case_000", "case_001", "case_002", "case_003"] as const
export const image = (data: string, id: string): string => path.join(data, "imagesTr", `${id}.nii.gz`)
export const label = (data: string, id: string): string => path.join(data, "labelsTr", `${id}.nii.gz`)

/** The tiny pipeline reading the 4 cases as explicit pairs under `data`. */
export const pairsTinyYaml = (data: string, runDir: string, extra = ""): string => {
  const yaml = tinyPipelineYaml("unused", runDir, extra)
  const pairs = CASES.map((id) => `{ image: imagesTr/${id}.nii.gz, label: labelsTr/${id}.nii.gz }`).join(", ")
  const source = /^ {2}source: \{ kind: phantom.*$/m
  if (!source.test(yaml)) throw new Error("the tiny pipeline's dataset.source line changed: update fault-fixture.ts")
  return yaml.replace(source, `  source: { kind: pairs, base: ${JSON.stringify(data)}, pairs: [${pairs}] }`)
}

/** The 4 phantom cases of the tiny pipeline (seed 11, small). */
export const writeTinyPhantoms = (dir: string): Promise<unknown> =>
  Effect.runPromise(writePhantomDataset({ out: dir, cases: CASES.length, seed: 11, size: "small" }))

export interface Scenario {
  readonly dir: string
  readonly data: string
  readonly file: string
  readonly runDir: string
}

/** A fresh copy of `baseData` and a pipeline file over it; with `training`, that run's finished training nodes. */
export const makeScenario = (root: string, name: string, baseData: string, options: { readonly extra?: string; readonly training?: string } = {}): Scenario => {
  const dir = path.join(root, name)
  const data = path.join(dir, "data")
  fs.cpSync(baseData, data, { recursive: true, preserveTimestamps: true })
  const runDir = path.join(dir, "run")
  if (options.training !== undefined) {
    fs.cpSync(path.join(options.training, "nodes", "train"), path.join(runDir, "nodes", "train"), { recursive: true })
  }
  const file = path.join(dir, "pipeline.yaml")
  fs.writeFileSync(file, pairsTinyYaml(data, runDir, options.extra))
  return { dir, data, file, runDir }
}

export interface RunOutput {
  readonly code: number
  readonly output: string
}

/** `rstn run FILE` in this process; `onLine` sees each plain log line as it is printed. */
export const runInProcess = async (
  file: string,
  options: { readonly overrides?: ReadonlyArray<string>; readonly fileSystem?: Layer.Layer<FileSystem>; readonly onLine?: (line: string) => void } = {}
): Promise<RunOutput> => {
  const lines: string[] = []
  const overrides = options.overrides ?? []
  const { pipeline } = await Effect.runPromise(loadPipeline(file, overrides))
  const code = await Effect.runPromise(
    runPipeline({
      file,
      overrides,
      pipeline,
      ...(options.fileSystem ? { fileSystem: options.fileSystem } : {}),
      out: (l) => {
        lines.push(l)
        options.onLine?.(l)
      }
    })
  )
  return { code, output: lines.join("\n") }
}

/** `rstn resume RUN_DIR` in this process. */
export const resumeInProcess = async (runDir: string): Promise<RunOutput> => {
  const lines: string[] = []
  const record = await Effect.runPromise(readRunRecord(runDir))
  const code = await Effect.runPromise(
    runPipeline({ file: record.file, overrides: record.overrides, pipeline: record.pipeline, out: (l) => lines.push(l) })
  )
  return { code, output: lines.join("\n") }
}

/** Rewrites a case's image as float32 with `value` at voxel (x, y, z), keeping its grid. */
export const writeImageWithVoxel = async (file: string, at: readonly [number, number, number], value: number): Promise<void> => {
  const { volume } = await Effect.runPromise(readNiftiFile(file))
  const data = Float32Array.from(volume.data as ArrayLike<number>)
  const [nx, ny] = volume.shape
  data[at[0] + nx * (at[1] + ny * at[2])] = value
  await Effect.runPromise(writeNiftiFile(file, { ...volume, data }, "float32"))
}

/** Appends `slices` copies of the last slice to a case's image and label: the same case, a larger volume. */
export const growCase = async (data: string, id: string, slices: number): Promise<readonly [number, number, number]> => {
  const grow = (v: Volume): Volume => {
    const [nx, ny, nz] = v.shape
    const plane = nx * ny
    const src = Float32Array.from(v.data as ArrayLike<number>)
    const out = new Float32Array(plane * (nz + slices))
    out.set(src)
    for (let k = 0; k < slices; k++) out.set(src.subarray(plane * (nz - 1), plane * nz), plane * (nz + k))
    return { ...v, shape: [nx, ny, nz + slices], data: out }
  }
  const img = grow((await Effect.runPromise(readNiftiFile(image(data, id)))).volume)
  const lab = grow((await Effect.runPromise(readNiftiFile(label(data, id)))).volume)
  await Effect.runPromise(writeNiftiFile(image(data, id), img, "float32"))
  await Effect.runPromise(writeNiftiFile(label(data, id), { ...lab, data: Uint8Array.from(lab.data as ArrayLike<number>) }, "uint8"))
  return img.shape
}
