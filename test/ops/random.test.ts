import { describe, expect, it } from "vitest"
import { Rng } from "../../src/ops/random.ts"

describe("Rng", () => {
  it("gives the same sequence for the same seed and labels, another for other labels", () => {
    const a = Rng.derive(42, "init", "coarse")
    const b = Rng.derive(42, "init", "coarse")
    const c = Rng.derive(42, "init", "fine")
    const seqA = Array.from({ length: 8 }, () => a.nextUint32())
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(seqA)
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(seqA)
  })

  it("continues the same sequence from a saved state", () => {
    const a = Rng.derive(7, "shuffle")
    for (let i = 0; i < 5; i++) a.next()
    const resumed = Rng.fromState(a.state())
    expect(Array.from({ length: 5 }, () => resumed.next())).toEqual(Array.from({ length: 5 }, () => a.next()))
  })

  it("draws uniform values in range with the right mean, and normals with the right moments", () => {
    const r = Rng.derive(1, "stats")
    const n = 20000
    let sum = 0
    for (let i = 0; i < n; i++) {
      const u = r.next()
      expect(u).toBeGreaterThanOrEqual(0)
      expect(u).toBeLessThan(1)
      sum += u
    }
    expect(sum / n).toBeCloseTo(0.5, 2)
    let m = 0
    let m2 = 0
    for (let i = 0; i < n; i++) {
      const x = r.normal()
      m += x
      m2 += x * x
    }
    expect(m / n).toBeCloseTo(0, 1)
    expect(m2 / n).toBeCloseTo(1, 1)
  })

  it("shuffles into a permutation", () => {
    const items = Array.from({ length: 50 }, (_, i) => i)
    const shuffled = Rng.derive(3, "perm").shuffle([...items])
    expect(shuffled).not.toEqual(items)
    expect([...shuffled].sort((x, y) => x - y)).toEqual(items)
  })
})
