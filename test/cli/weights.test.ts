import { Cause, Effect, Either, Exit, Option } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { runWeights, type WeightsRequest } from "../../src/cli/commands/weights.ts"
import { decodeCheckpoint } from "../../src/ops/train/checkpoint.ts"
import { readMappedWeights } from "../../src/ops/weights/weights-file.ts"
import { osSystemPickle, torchZip } from "../ops/weights/torch-fixture.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-weights-cli-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../bin/rstn.js")

const values = (n: number, scale: number) => Float32Array.from({ length: n }, (_, i) => Math.cos(i) * scale)
/** The port's saliency module alone: two convolutions, as in its RSTN state dict. */
const saliency = [
  { name: "saliency1.weight", shape: [3, 3, 3, 3], data: values(81, 0.1) },
  { name: "saliency1.bias", shape: [3], data: values(3, 1) },
  { name: "saliency2.weight", shape: [3, 3, 5, 5], data: values(225, 0.1) },
  { name: "saliency2.bias", shape: [3], data: values(3, 1) }
]
const file = path.join(dir, "saliency.pth")
fs.writeFileSync(file, torchZip(saliency))
const evil = path.join(dir, "evil.pth")
fs.writeFileSync(evil, osSystemPickle())

const request = (r: Partial<WeightsRequest>): WeightsRequest => ({ action: "inspect", file, map: "none", skip: [], out: undefined, ...r })

const weights = async (r: Partial<WeightsRequest>) => {
  const lines: string[] = []
  const exit = await Effect.runPromiseExit(runWeights(request(r), (l) => lines.push(l)))
  return { exit, lines }
}

describe("rstn weights", () => {
  it("inspect lists every tensor with its dtype and shape", async () => {
    const { exit, lines } = await weights({})
    expect(Exit.isSuccess(exit) && exit.value).toBe(0)
    expect(lines).toEqual([
      `${file}: torch-zip, 4 tensors, 312 values`,
      "  saliency1.weight  float32   [3,3,3,3]",
      "  saliency1.bias    float32   [3]",
      "  saliency2.weight  float32   [3,3,5,5]",
      "  saliency2.bias    float32   [3]"
    ])
  })

  it("inspect --map shows the rstn parameter each tensor becomes, in rstn's layout; --skip leaves tensors out", async () => {
    const { lines } = await weights({ map: "organseg-rstn", skip: ["coarse_model.", "fine_model."] })
    expect(lines).toEqual([
      `${file}: torch-zip, map organseg-rstn: 4 tensors, 312 values`,
      "  saliency1.weight  ->  saliency/conv1/kernel  [3,3,3,3]",
      "  saliency1.bias    ->  saliency/conv1/bias    [3]",
      "  saliency2.weight  ->  saliency/conv2/kernel  [5,5,3,3]",
      "  saliency2.bias    ->  saliency/conv2/bias    [3]"
    ])
  })

  it("convert writes an rstn checkpoint holding the mapped tensors, which inspect then reads", async () => {
    const out = path.join(dir, "saliency.ckpt")
    const { exit, lines } = await weights({ action: "convert", map: "organseg-rstn", skip: ["coarse_model.", "fine_model."], out })
    expect(Exit.isSuccess(exit) && exit.value).toBe(0)
    expect(lines).toEqual([`${out}: 4 tensors, 312 values, from ${file} (torch-zip, map organseg-rstn)`])
    const ckpt = Either.getOrThrow(decodeCheckpoint(new Uint8Array(fs.readFileSync(out)), out))
    const mapped = Either.getOrThrow(
      readMappedWeights(new Uint8Array(fs.readFileSync(file)), file, { map: "organseg-rstn", skip: ["coarse_model.", "fine_model."] })
    )
    expect(ckpt.tensors.map((t) => [t.name, t.shape, Array.from(t.data)])).toEqual(mapped.tensors.map((t) => [t.name, t.shape, Array.from(t.data)]))
    expect(fs.readdirSync(dir).filter((f) => f.includes(".tmp"))).toEqual([])
    const again = await weights({ file: out })
    expect(again.lines[0]).toBe(`${out}: rstn-checkpoint, 4 tensors, 312 values`)
  })

  it("refuses an unknown action or map and convert without --out as usage errors", async () => {
    for (const [r, message, hint] of [
      [{ action: "inspekt" }, "unknown action 'inspekt': use inspect or convert", "did you mean 'rstn weights inspect'?"],
      [{ map: "torchvision-vgg" }, "--map must be one of none, torchvision-vgg16, organseg-fcn8s, organseg-rstn, got 'torchvision-vgg'", "did you mean --map torchvision-vgg16?"],
      [{ action: "convert" }, "convert needs --out FILE", "e.g. rstn weights convert vgg16.pth --map torchvision-vgg16 --out fcn8s-imagenet.ckpt"]
    ] as const) {
      const { exit } = await weights(r)
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? Option.getOrNull(Cause.failureOption(exit.cause)) : null
      expect(error).toMatchObject({ _tag: "UsageError", message, hint })
    }
  })

  it("exits 1 naming the file for a bad file, 2 for a usage error (bin/rstn.js)", () => {
    const bad = spawnSync(process.execPath, [bin, "weights", "inspect", evil], { encoding: "utf8" })
    expect(bad.status).toBe(1)
    expect(bad.stderr).toContain(`rstn: ${evil}: the pickle asks for the Python global posix.system, which rstn refuses to load`)
    const usage = spawnSync(process.execPath, [bin, "weights", "convert", file], { encoding: "utf8" })
    expect(usage.status).toBe(2)
    expect(usage.stderr).toContain("convert needs --out FILE")
  })
})
