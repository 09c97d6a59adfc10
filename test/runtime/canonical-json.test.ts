import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { canonicalJson } from "../../src/runtime/canonical-json.ts"
import { diffConfig, formatChange } from "../../src/runtime/config-diff.ts"

const text = (v: unknown) => Either.getOrThrow(canonicalJson(v))

describe("canonicalJson", () => {
  it("sorts keys at every depth (integer-like keys too) and keeps array order", () => {
    expect(text({ b: 1, a: { z: [3, 1], y: null }, "10": true, "9": false })).toBe('{"10":true,"9":false,"a":{"y":null,"z":[3,1]},"b":1}')
  })

  it("normalises numbers: -0, exponents and trailing zeros print one way", () => {
    expect(text({ a: -0, b: 1.0, c: 1e-5, d: 0.00001, e: 2.50 })).toBe('{"a":0,"b":1,"c":0.00001,"d":0.00001,"e":2.5}')
  })

  it("drops undefined members as JSON does", () => {
    expect(text({ a: undefined, b: [undefined] })).toBe('{"b":[null]}')
  })

  it.each([
    [{ lr: Number.NaN }, "lr", "NaN is not a finite number"],
    [{ a: [1, Infinity] }, "a[1]", "Infinity is not a finite number"],
    [{ when: new Date(0) }, "when", "a Date object is not plain JSON"],
    [{ f: () => 1 }, "f", "a function is not JSON"],
    [{ "odd key": 1n }, '["odd key"]', "a bigint is not JSON"]
  ])("rejects %o at its path", (value, path, reason) => {
    const r = canonicalJson(value)
    expect(Either.isLeft(r) && [r.left.path, r.left.reason]).toEqual([path, reason])
  })
})

describe("diffConfig", () => {
  it("lists every changed leaf with its path, in sorted order", () => {
    const before = { training: { lr: 0.001, phases: [{ name: "S" }, { name: "I" }] }, seed: 1 }
    const after = { training: { lr: 0.0005, phases: [{ name: "S" }, { name: "J" }, { name: "K" }] }, seed: 1, extra: true }
    expect(diffConfig(before, after).map(formatChange)).toEqual([
      "extra: (absent) → true",
      "training.lr: 0.001 → 0.0005",
      'training.phases[1].name: "I" → "J"',
      'training.phases[2]: (absent) → {"name":"K"}'
    ])
  })

  it("treats a change of type as one change, and equal values as none", () => {
    expect(diffConfig({ a: { b: 1 } }, { a: [1] }).map(formatChange)).toEqual(['a: {"b":1} → [1]'])
    expect(diffConfig({ a: { x: 1, y: 2 } }, { a: { y: 2, x: 1 } })).toEqual([])
    expect(diffConfig(1, 2).map(formatChange)).toEqual(["(config): 1 → 2"])
  })
})
