/**
 * The store shared by the runs under one runs root: a committed node is filed under its key and
 * adopted by another run directory (its files linked in, checked first); a damaged entry is
 * dropped instead of adopted; nodes that ran on partial inputs or were adopted are not filed.
 */
import { Effect, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import type { Manifest } from "../../src/runtime/manifest.ts"
import * as SharedStore from "../../src/runtime/shared-store.ts"
import { tempDir } from "./fixtures/temp.ts"

const KEY = "ab".repeat(32)

/** A committed node in `runDir` with one file output. */
const committed = (runDir: string, extra: Partial<Manifest> = {}): { manifest: Manifest; nodeDir: string } => {
  const nodeDir = path.join(runDir, "nodes", "train", "fold-0", "Z", "S")
  fs.mkdirSync(path.join(nodeDir, KEY.slice(0, 16)), { recursive: true })
  fs.writeFileSync(path.join(nodeDir, KEY.slice(0, 16), "weights.ckpt"), "weights!")
  const manifest: Manifest = {
    format: 1,
    id: "train/fold-0/Z/S",
    key: KEY,
    kind: "train",
    label: "train fold 0 view Z phase S",
    config: {},
    deps: [],
    outputs: { json: { loss: 0.5 }, files: { "weights.ckpt": { path: `${KEY.slice(0, 16)}/weights.ckpt`, bytes: 8 } } },
    finishedAt: 1,
    durationMs: 1234,
    ...extra
  }
  return { manifest, nodeDir }
}

const target = (runDir: string) => ({ id: "train/fold-0/Z/S", label: "S", outputDir: path.join(runDir, "nodes", "train", "fold-0", "Z", "S", KEY.slice(0, 16)), keyDir: KEY.slice(0, 16) })

describe("the shared store", () => {
  it("is .rstn-store beside the run directory for auto, a directory as given, none otherwise", () => {
    expect(SharedStore.sharedStoreDir("auto", "/x/runs/a")).toBe("/x/runs/.rstn-store")
    expect(SharedStore.sharedStoreDir(undefined, "/x/runs/a")).toBeUndefined()
    expect(SharedStore.sharedStoreDir("none", "/x/runs/a")).toBeUndefined()
    expect(SharedStore.sharedStoreDir("/s", "/x/runs/a")).toBe("/s")
  })

  it("files a node under its key, and another run adopts it with its files and the run that computed it", async () => {
    const root = tempDir()
    const a = path.join(root, "a")
    const store = SharedStore.make(path.join(root, SharedStore.STORE_DIR))
    const { manifest, nodeDir } = committed(a)
    await Effect.runPromise(store.publish(manifest, nodeDir, a))
    expect(await Effect.runPromise(store.holder(KEY))).toEqual(Option.some(a))
    const b = path.join(root, "b")
    const adopted = await Effect.runPromise(store.adopt(KEY, target(b)))
    expect(Option.getOrThrow(adopted)).toMatchObject({ key: KEY, sharedFrom: a, durationMs: 1234, outputs: { json: { loss: 0.5 } } })
    expect(fs.readFileSync(path.join(target(b).outputDir, "weights.ckpt"), "utf8")).toBe("weights!")
    // What b adopted is not filed again as b's.
    await Effect.runPromise(store.publish(Option.getOrThrow(adopted), path.dirname(target(b).outputDir), b))
    expect(await Effect.runPromise(store.holder(KEY))).toEqual(Option.some(a))
  })

  it("drops an entry whose file changed instead of adopting it, and files nothing that ran on partial inputs", async () => {
    const root = tempDir()
    const a = path.join(root, "a")
    const storeDir = path.join(root, SharedStore.STORE_DIR)
    const store = SharedStore.make(storeDir)
    const { manifest, nodeDir } = committed(a)
    await Effect.runPromise(store.publish(manifest, nodeDir, a))
    // Same size, other bytes: only the checksum tells.
    fs.writeFileSync(path.join(storeDir, KEY, "files", "weights.ckpt"), "WEIGHTS!")
    expect(Option.isNone(await Effect.runPromise(store.adopt(KEY, target(path.join(root, "b")))))).toBe(true)
    expect(fs.existsSync(path.join(storeDir, KEY))).toBe(false)
    const partial = committed(path.join(root, "c"), { missingInputs: ["coarse/case_000/Z"] })
    await Effect.runPromise(store.publish(partial.manifest, partial.nodeDir, path.join(root, "c")))
    expect(Option.isNone(await Effect.runPromise(store.holder(KEY)))).toBe(true)
  })
})
