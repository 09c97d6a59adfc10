/**
 * The one seeded pseudo-random generator of rstn (xoshiro128**, seeded through splitmix32).
 * Every random choice — phantom anatomy, weight initialisation, sample shuffling, crop jitter —
 * draws from a stream derived from the pipeline seed and a label, so streams are independent
 * and reproducible, and a stream's state can be saved in a checkpoint and restored.
 */

export type RngState = readonly [number, number, number, number]

const splitmix32 = (seed: number): (() => number) => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

/** FNV-1a over the labels, so `derive(seed, "init", "coarse")` names an independent stream. */
const hashLabels = (seed: number, labels: ReadonlyArray<string | number>): number => {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0
  for (const label of labels) {
    const text = `${String(label)}\u0000`
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i)
      h = Math.imul(h, 0x01000193) >>> 0
    }
  }
  return h
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0

export class Rng {
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  private constructor(state: RngState) {
    ;[this.s0, this.s1, this.s2, this.s3] = state
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1 // the all-zero state is a fixed point
  }

  /** A stream determined by the seed and the labels naming its purpose. */
  static derive(seed: number, ...labels: ReadonlyArray<string | number>): Rng {
    const next = splitmix32(hashLabels(seed, labels))
    return new Rng([next(), next(), next(), next()])
  }

  static fromState(state: RngState): Rng {
    return new Rng(state)
  }

  /** The state to store in a checkpoint; `Rng.fromState` continues the same sequence. */
  state(): RngState {
    return [this.s0, this.s1, this.s2, this.s3]
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0
    const t = (this.s1 << 9) >>> 0
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 = (this.s2 ^ t) >>> 0
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next()
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Standard normal (Box–Muller; the second value of each pair is not cached, so the state alone determines the sequence). */
  normal(mean = 0, std = 1): number {
    let u = this.next()
    while (u === 0) u = this.next()
    const v = this.next()
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const tmp = items[i]!
      items[i] = items[j]!
      items[j] = tmp
    }
    return items
  }
}
