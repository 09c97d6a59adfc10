/**
 * NIfTI I/O cost on a CT-sized volume (512x512x466 int16, as a pancreas CT): encode + write a
 * .nii.gz, then read it back in a fresh process (so peak RSS is the reader's alone) and compare
 * the peak with the size of the same volume as float32.
 *
 * `npm run bench -- nifti` (or `node --import tsx bench/nifti.bench.ts`); prints one JSON object.
 */
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { defaultGeometry, type Volume } from "../src/ops/volume.ts"
import { Rng } from "../src/ops/random.ts"
import { readNiftiFile, writeNiftiFile } from "../src/runtime/nifti-file.ts"

const SHAPE = [512, 512, 466] as const

const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10

/** Child mode: read one file, report time and this process's peak RSS. */
const readOnce = async (file: string): Promise<void> => {
  const rssBefore = process.memoryUsage().rss
  const t0 = performance.now()
  const img = await Effect.runPromise(readNiftiFile(file))
  const ms = performance.now() - t0
  let sum = 0
  for (let i = 0; i < img.volume.data.length; i += 4096) sum += img.volume.data[i]!
  process.stdout.write(
    JSON.stringify({ ms: Math.round(ms), rssBeforeMiB: mib(rssBefore), peakRssMiB: mib(process.resourceUsage().maxRSS * 1024), checksum: sum }) + "\n"
  )
}

/** A CT-like volume: air outside an elliptic body of soft tissue, some bone, seeded noise. */
const syntheticCt = (): Volume<Int16Array> => {
  const [nx, ny, nz] = SHAPE
  const data = new Int16Array(nx * ny * nz)
  const rng = Rng.derive(1, "bench", "nifti")
  const noise = Int16Array.from({ length: 1 << 16 }, () => Math.round(rng.normal() * 20))
  let k = 0
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const dy = (y - ny / 2) / (ny * 0.35)
      for (let x = 0; x < nx; x++) {
        const dx = (x - nx / 2) / (nx * 0.45)
        const r = dx * dx + dy * dy
        const base = r > 1 ? -1000 : r < 0.01 ? 700 : 40
        data[k] = base + noise[(k * 2654435761) >>> 16]!
        k++
      }
    }
  }
  return { shape: SHAPE, geometry: defaultGeometry([0.7, 0.7, 1]), data }
}

const main = async (): Promise<void> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-bench-nifti-"))
  try {
    const ct = syntheticCt()
    const file = path.join(dir, "ct.nii.gz")
    let t0 = performance.now()
    await Effect.runPromise(writeNiftiFile(file, ct, "int16"))
    const writeMs = performance.now() - t0
    const mask = { ...ct, data: new Uint8Array(ct.data.length).map((_, i) => (ct.data[i]! > 500 ? 1 : 0)) }
    t0 = performance.now()
    await Effect.runPromise(writeNiftiFile(path.join(dir, "mask.nii.gz"), mask, "uint8"))
    const writeMaskMs = performance.now() - t0
    const self = fileURLToPath(import.meta.url)
    const reads = [0, 1, 2].map(() => {
      const r = spawnSync(process.execPath, ["--import", "tsx", self, "--read", file], { encoding: "utf8" })
      if (r.status !== 0) throw new Error(`reader failed: ${r.stderr}`)
      return JSON.parse(r.stdout) as { ms: number; rssBeforeMiB: number; peakRssMiB: number }
    })
    const float32MiB = mib(ct.data.length * 4)
    const best = reads.reduce((a, b) => (b.ms < a.ms ? b : a))
    process.stdout.write(
      JSON.stringify({
        shape: SHAPE,
        fileMiB: mib(fs.statSync(file).size),
        int16MiB: mib(ct.data.byteLength),
        float32MiB,
        writeInt16GzMs: Math.round(writeMs),
        writeUint8MaskGzMs: Math.round(writeMaskMs),
        readMs: reads.map((r) => r.ms),
        readBestMs: best.ms,
        readerRssBeforeMiB: best.rssBeforeMiB,
        readerPeakRssMiB: Math.max(...reads.map((r) => r.peakRssMiB)),
        peakOverFloat32: Math.round((Math.max(...reads.map((r) => r.peakRssMiB)) / float32MiB) * 100) / 100
      }) + "\n"
    )
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const at = process.argv.indexOf("--read")
await (at >= 0 ? readOnce(process.argv[at + 1]!) : main())
