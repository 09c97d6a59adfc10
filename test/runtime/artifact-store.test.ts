import { Effect, Either, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { ArtifactStore } from "../../src/runtime/artifact-store.ts"
import { FileSystem } from "../../src/runtime/file-system.ts"
import type { Manifest } from "../../src/runtime/manifest.ts"

const inStore = <A, E>(f: (store: ArtifactStore["Type"]) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.flatMap(ArtifactStore, f).pipe(Effect.provide(ArtifactStore.layerTemp), Effect.provide(FileSystem.layer))
  )

const manifest = (key: string, files: Manifest["outputs"]["files"] = {}): Manifest => ({
  format: 1,
  id: "train/fold-0",
  key,
  kind: "train",
  label: "train fold 0",
  config: { lr: 1 },
  deps: [],
  outputs: { json: { loss: 0.5 }, files },
  finishedAt: 10,
  durationMs: 5
})

const K1 = "1".repeat(64)
const K2 = "2".repeat(64)

describe("ArtifactStore", () => {
  it("commits a node: manifest last, old key's outputs and this key's checkpoint removed", async () => {
    const result = await inStore((store) =>
      Effect.gen(function* () {
        const old = yield* store.writeOutput("train/fold-0", K1, "weights.bin", new Uint8Array([1, 2, 3]))
        yield* store.commit(manifest(K1, { "weights.bin": old }))
        yield* store.saveCheckpoint("train/fold-0", K2, new Uint8Array([9]))
        const checkpoint = yield* store.loadCheckpoint("train/fold-0", K2)
        const out = yield* store.writeOutput("train/fold-0", K2, "weights.bin", new Uint8Array([4, 5]))
        // until the new manifest is in, the old node is what readers see
        const before = yield* store.readManifest("train/fold-0")
        yield* store.commit(manifest(K2, { "weights.bin": out }))
        const after = Option.getOrThrow(yield* store.readManifest("train/fold-0"))
        const bytes = yield* store.input(after).readFile("weights.bin")
        const left = fs.readdirSync(store.nodeDir("train/fold-0")).sort()
        return { checkpoint, before: Option.map(before, (m) => m.key), after: after.key, bytes, left, out, dir: store.nodeDir("train/fold-0") }
      })
    )
    expect(result.checkpoint).toEqual(Option.some(new Uint8Array([9])))
    expect(result.before).toEqual(Option.some(K1))
    expect(result.after).toBe(K2)
    expect([...result.bytes]).toEqual([4, 5])
    expect(result.out).toEqual({ path: `${K2.slice(0, 16)}/weights.bin`, bytes: 2 })
    expect(result.left).toEqual([K2.slice(0, 16), "node.json"])
    expect(fs.existsSync(result.dir)).toBe(false) // the temporary run directory went with the layer
  })

  it("rejects output names that could escape or shadow the node's files", async () => {
    const names = ["../x", ".hidden", "node.json", "checkpoint.bin", "a/b", "ok-name_1.bin"]
    const results = await inStore((store) =>
      Effect.forEach(names, (n) => Effect.either(store.writeOutput("n", K1, n, "x")))
    )
    expect(results.map((r) => (Either.isLeft(r) ? r.left._tag : "ok"))).toEqual([
      "OutputNameError",
      "OutputNameError",
      "OutputNameError",
      "OutputNameError",
      "OutputNameError",
      "ok"
    ])
  })

  it("a fresh attempt starts from an empty key directory but keeps the checkpoint", async () => {
    const left = await inStore((store) =>
      Effect.gen(function* () {
        yield* store.writeOutput("n", K1, "partial.bin", "half")
        yield* store.saveCheckpoint("n", K1, new Uint8Array([1]))
        fs.writeFileSync(path.join(store.outputDir("n", K1), ".x.bin.123.4.tmp"), "junk")
        yield* store.beginAttempt("n", K1)
        return fs.readdirSync(store.outputDir("n", K1))
      })
    )
    expect(left).toEqual(["checkpoint.bin"])
  })
})
