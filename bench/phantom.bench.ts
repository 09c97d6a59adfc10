/**
 * Phantom generation speed: 20 small cases written as a dataset (the demo's first run; must
 * take under a minute on 2 cores), a medium case, and one full-size case (512x512xL) in memory
 * and encoded as .nii.gz.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { generatePhantom } from "../src/ops/phantom/generate.ts"
import { encodeNifti1 } from "../src/ops/nifti/index.ts"
import { writePhantomDataset } from "../src/runtime/phantom-dataset.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-phantom-bench-"))
try {
  let t = performance.now()
  const summary = await Effect.runPromise(writePhantomDataset({ out: path.join(dir, "small"), cases: 20, seed: 0, size: "small" }))
  const smallDatasetMs = performance.now() - t

  t = performance.now()
  await Effect.runPromise(writePhantomDataset({ out: path.join(dir, "small"), cases: 20, seed: 0, size: "small" }))
  const rerunMs = performance.now() - t

  t = performance.now()
  for (let i = 0; i < 20; i++) generatePhantom({ seed: 0, index: i, size: "small" })
  const smallGenerateMs = performance.now() - t

  t = performance.now()
  generatePhantom({ seed: 0, index: 0, size: "medium" })
  const mediumMs = performance.now() - t

  t = performance.now()
  const full = generatePhantom({ seed: 0, index: 0, size: "full" })
  const fullGenerateMs = performance.now() - t
  t = performance.now()
  const gz = encodeNifti1(full.image, "int16", { gzip: true, level: 1 })
  const fullEncodeMs = performance.now() - t

  process.stdout.write(
    JSON.stringify({
      smallDataset20Ms: Math.round(smallDatasetMs),
      smallDatasetWritten: summary.written,
      smallRerunMs: Math.round(rerunMs),
      smallGenerate20Ms: Math.round(smallGenerateMs),
      mediumCaseMs: Math.round(mediumMs),
      fullCase: { shape: full.image.shape, spacing: full.image.geometry.spacing, generateMs: Math.round(fullGenerateMs), encodeGzipMs: Math.round(fullEncodeMs), gzipMB: +(gz.length / 2 ** 20).toFixed(1) },
      peakRssMB: Math.round((process.resourceUsage().maxRSS * 1024) / 2 ** 20)
    }) + "\n"
  )
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
