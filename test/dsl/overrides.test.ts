import { Either } from "effect"
import { describe, expect, it } from "vitest"
import type { Origin } from "../../src/dsl/diagnostic.ts"
import { merge } from "../../src/dsl/merge.ts"
import { parsePath, parseSetFlag, setPath } from "../../src/dsl/overrides.ts"
import { parseSource } from "../../src/dsl/source.ts"
import { type MapNode, toPlain } from "../../src/dsl/tree.ts"

const tree = (file: string, text: string): MapNode => {
  const p = parseSource(file, text)
  if (p.tree === undefined) throw new Error(JSON.stringify(p.diagnostics))
  return p.tree
}
const flagAt = (): Origin => ({ file: "flag", line: 1, col: 1 })

describe("parsePath", () => {
  it("reads keys, [i] and .i indices", () => {
    expect(Either.getOrThrow(parsePath("test.stages[2].converge-until.body.1.crop")).path).toEqual(["test", "stages", 2, "converge-until", "body", 1, "crop"])
    expect(Either.getOrThrow(parsePath("a[0][1]")).path).toEqual(["a", 0, 1])
  })
  it("rejects empty segments and stray characters, with the offset of the problem", () => {
    expect(parsePath("a..b")).toEqual(Either.left({ message: "bad path 'a..b' at '.b'", offset: 2 }))
    expect(parsePath("a.")).toEqual(Either.left({ message: "bad path 'a.': it ends with '.'", offset: 1 }))
    expect(parsePath("a b")._tag).toBe("Left")
    expect(parsePath("")._tag).toBe("Left")
  })
})

describe("setPath", () => {
  const base = tree("b.yaml", "name: b\nsaliency: null\ntest:\n  stages: [coarse, { fuse: { threshold: 0.5 } }]\n")
  const value = (text: string) => Either.getOrThrow(parseSetFlag(`x=${text}`)).value

  it("replaces a value, creates missing mappings (also over null), and expands a bare stage name", () => {
    let t = Either.getOrThrow(setPath(base, ["test", "stages", 1, "fuse", "threshold"], value("0.7"), flagAt))
    t = Either.getOrThrow(setPath(t, ["saliency", "layers"], value("[{ kernel: 3 }]"), flagAt))
    t = Either.getOrThrow(setPath(t, ["run", "dir"], value("out"), flagAt))
    t = Either.getOrThrow(setPath(t, ["test", "stages", 0, "coarse", "weights"], value("I"), flagAt))
    expect(toPlain(t)).toEqual({
      name: "b",
      saliency: { layers: [{ kernel: 3 }] },
      test: { stages: [{ coarse: { weights: "I" } }, { fuse: { threshold: 0.7 } }] },
      run: { dir: "out" }
    })
    // The original is unchanged.
    expect(toPlain(base)).toEqual({ name: "b", saliency: null, test: { stages: ["coarse", { fuse: { threshold: 0.5 } }] } })
  })

  it("says why a path cannot be set", () => {
    expect(setPath(base, ["name", "x"], value("1"), flagAt)).toEqual(Either.left('name is "b", not a mapping or list'))
    expect(setPath(base, ["test", "stages", 5], value("1"), flagAt)).toEqual(Either.left("index 5 is out of range: test.stages has 2 items"))
    expect(setPath(base, ["test", "stages", "x"], value("1"), flagAt)).toEqual(Either.left("test.stages is a list; use an index like test.stages[0]"))
    expect(setPath(base, ["views", 0], value("X"), flagAt)).toEqual(
      Either.left("views is not written in the file (it has its default), so it has no item [0] to change")
    )
  })
})

describe("parseSetFlag", () => {
  it("parses flow YAML values and locates them in the flag", () => {
    const o = Either.getOrThrow(parseSetFlag("views=[X, Z]"))
    expect(o.path).toEqual(["views"])
    expect(toPlain(o.value)).toEqual(["X", "Z"])
    expect(o.value.origin).toEqual({ file: "--set views=[X, Z]", line: 1, col: 13 })
    expect(o.at(0)).toEqual({ file: "--set views=[X, Z]", line: 1, col: 7 })
  })
  it("reads an empty value as null and keeps strings that look like other things as YAML reads them", () => {
    expect(toPlain(Either.getOrThrow(parseSetFlag("saliency=")).value)).toBeNull()
    expect(toPlain(Either.getOrThrow(parseSetFlag("name=1e3")).value)).toBe(1000)
    expect(toPlain(Either.getOrThrow(parseSetFlag('name="1e3"')).value)).toBe("1e3")
  })
  it("rejects a flag without =", () => {
    expect(Either.flip(parseSetFlag("views")).pipe(Either.getOrThrow).message).toBe("expected PATH=VALUE, got 'views'")
  })
})

describe("merge (extends)", () => {
  const base = tree(
    "base.yaml",
    "name: b\nviews: [X, Y, Z]\ntraining:\n  batch-size: 1\n  optimizer: { kind: sgd, lr: 1.0e-5, momentum: 0.99 }\nsaliency: { layers: [{ kernel: 3 }] }\n"
  )
  it("merges mappings key by key, replaces lists and scalars, and a mapping whose kind changes", () => {
    const over = tree("v.yaml", "name: v\nviews: [Z]\ntraining:\n  optimizer: { kind: adam, lr: 1.0e-3 }\nsaliency: null\nseed: 3\n")
    expect(toPlain(merge(base, over))).toEqual({
      name: "v",
      views: ["Z"],
      training: { "batch-size": 1, optimizer: { kind: "adam", lr: 1e-3 } },
      saliency: null,
      seed: 3
    })
  })
  it("keeps the other options of a mapping whose kind stays, and remembers where each value came from", () => {
    const over = tree("v.yaml", "training:\n  optimizer: { lr: 1.0e-4 }\n")
    const m = merge(base, over) as MapNode
    expect(toPlain(m)).toMatchObject({ training: { optimizer: { kind: "sgd", lr: 1e-4, momentum: 0.99 } } })
    const opt = (m.entries.find((e) => e.key === "training")!.value as MapNode).entries.find((e) => e.key === "optimizer")!.value as MapNode
    expect(opt.entries.map((e) => [e.key, e.value.origin.file, e.value.origin.line])).toEqual([
      ["kind", "base.yaml", 5],
      ["lr", "v.yaml", 2],
      ["momentum", "base.yaml", 5]
    ])
  })
})
