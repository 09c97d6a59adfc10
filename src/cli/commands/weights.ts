/**
 * `rstn weights inspect FILE` lists a weights file's tensors (name, dtype, shape; with `--map`
 * also the rstn parameter each becomes); `rstn weights convert FILE --map M --out X.ckpt` writes
 * them, renamed and re-laid out, in rstn's checkpoint format, so that `networks.pretrained` can
 * name the converted file (it can also name the original directly, with the same `map`).
 */
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { didYouMean } from "../../dsl/did-you-mean.ts"
import { WEIGHT_MAPS, type WeightMap } from "../../ops/weights/map-names.ts"
import { encodeCheckpoint } from "../../ops/train/checkpoint.ts"
import { readMappedWeights, readWeightsBytes } from "../../ops/weights/weights-file.ts"
import { atomicWrite } from "../../runtime/atomic-write.ts"
import { fsError } from "../../runtime/file-system.ts"
import { listFlag, stringFlag, UsageError } from "../args.ts"
import type { Run } from "../command.ts"

export interface WeightsRequest {
  readonly action: string
  readonly file: string
  readonly map: string
  readonly skip: ReadonlyArray<string>
  readonly out: string | undefined
}

const ACTIONS = ["inspect", "convert"] as const

const usage = (message: string, hint: string) => Effect.fail(new UsageError({ command: "weights", message, hint }))

const shape = (s: ReadonlyArray<number>) => `[${s.join(",")}]`

const count = (n: number) => n.toLocaleString("en-US")

const readBytes = (file: string) => Effect.try({ try: () => new Uint8Array(fs.readFileSync(file)), catch: (e) => fsError(file, "read", e) })

/** Runs `weights inspect|convert`; lines go to `stdout`; returns the exit code. */
export const runWeights = (request: WeightsRequest, stdout: (line: string) => void) =>
  Effect.gen(function* () {
    if (!(ACTIONS as ReadonlyArray<string>).includes(request.action)) {
      const guess = didYouMean(request.action, ACTIONS)
      return yield* usage(`unknown action '${request.action}': use inspect or convert`, guess ? `did you mean 'rstn weights ${guess}'?` : "e.g. rstn weights inspect vgg16.pth")
    }
    if (!(WEIGHT_MAPS as ReadonlyArray<string>).includes(request.map)) {
      const guess = didYouMean(request.map, WEIGHT_MAPS)
      return yield* usage(`--map must be one of ${WEIGHT_MAPS.join(", ")}, got '${request.map}'`, guess ? `did you mean --map ${guess}?` : "e.g. --map torchvision-vgg16")
    }
    const map = request.map as WeightMap
    const bytes = yield* readBytes(request.file)
    if (request.action === "inspect" && map === "none") {
      const { format, tensors } = yield* readWeightsBytes(bytes, request.file)
      const width = Math.max(...tensors.map((t) => t.name.length))
      stdout(`${request.file}: ${format}, ${tensors.length} tensors, ${count(tensors.reduce((n, t) => n + t.data.length, 0))} values`)
      for (const t of tensors) stdout(`  ${t.name.padEnd(width)}  ${t.dtype.padEnd(8)}  ${shape(t.shape)}`)
      return 0
    }
    const mapped = yield* readMappedWeights(bytes, request.file, { map, skip: request.skip })
    const values = mapped.tensors.reduce((n, t) => n + t.data.length, 0)
    const leftOut = [
      ...(mapped.dropped.length > 0 ? [`dropped by the map: ${mapped.dropped.join(", ")}`] : []),
      ...(mapped.skipped.length > 0 ? [`skipped: ${mapped.skipped.join(", ")}`] : [])
    ]
    if (request.action === "inspect") {
      const width = Math.max(...mapped.tensors.map((t) => t.source.length))
      const targetWidth = Math.max(...mapped.tensors.map((t) => t.name.length))
      stdout(`${request.file}: ${mapped.format}, map ${map}: ${mapped.tensors.length} tensors, ${count(values)} values`)
      for (const t of mapped.tensors) stdout(`  ${t.source.padEnd(width)}  ->  ${t.name.padEnd(targetWidth)}  ${shape(t.shape)}`)
      for (const line of leftOut) stdout(`  ${line}`)
      return 0
    }
    if (request.out === undefined) return yield* usage("convert needs --out FILE", "e.g. rstn weights convert vgg16.pth --map torchvision-vgg16 --out fcn8s-imagenet.ckpt")
    const checkpoint = encodeCheckpoint({
      architecture: { convertedFrom: path.basename(request.file), format: mapped.format, map },
      iteration: 0,
      tensors: mapped.tensors.map((t) => ({ name: t.name, shape: t.shape, data: t.data })),
      optimizer: null,
      rng: {},
      extra: null
    })
    yield* atomicWrite(request.out, checkpoint)
    stdout(`${request.out}: ${mapped.tensors.length} tensors, ${count(values)} values, from ${request.file} (${mapped.format}, map ${map})`)
    for (const line of leftOut) stdout(`  ${line}`)
    return 0
  })

export const run: Run = (args) =>
  runWeights(
    {
      action: args.positionals[0]!,
      file: args.positionals[1]!,
      map: stringFlag(args, "map") ?? "none",
      skip: listFlag(args, "skip"),
      out: stringFlag(args, "out")
    },
    (line) => process.stdout.write(line + "\n")
  )
