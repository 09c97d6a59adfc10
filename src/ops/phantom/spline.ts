/**
 * Smooth curves through control points (Catmull–Rom), resampled at even arc length, for tubes
 * such as vessels, bowel loops and the pancreas. Each point carries a radius that is
 * interpolated along with the position.
 */

/** A point in patient millimetres (a: toward the patient's left, p: posterior, s: superior) with a radius. */
export interface CurvePoint {
  readonly a: number
  readonly p: number
  readonly s: number
  readonly r: number
}

const catmullRom = (p0: number, p1: number, p2: number, p3: number, t: number): number => {
  const t2 = t * t
  const t3 = t2 * t
  return 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (3 * p1 - p0 - 3 * p2 + p3) * t3)
}

/**
 * Points along the curve through `controls`, `step` millimetres apart (the last point is the
 * last control point). Radii are interpolated linearly so they never overshoot below zero.
 */
export const sampleCurve = (controls: ReadonlyArray<CurvePoint>, step: number): CurvePoint[] => {
  if (controls.length === 0) return []
  if (controls.length === 1) return [controls[0]!]
  if (!(step > 0)) throw new RangeError(`curve step must be positive, got ${step}`)
  // Dense samples first, then pick points at even arc length.
  const perSegment = 32
  const dense: CurvePoint[] = []
  const n = controls.length
  for (let i = 0; i < n - 1; i++) {
    const c0 = controls[Math.max(0, i - 1)]!
    const c1 = controls[i]!
    const c2 = controls[i + 1]!
    const c3 = controls[Math.min(n - 1, i + 2)]!
    for (let k = 0; k < perSegment; k++) {
      const t = k / perSegment
      dense.push({
        a: catmullRom(c0.a, c1.a, c2.a, c3.a, t),
        p: catmullRom(c0.p, c1.p, c2.p, c3.p, t),
        s: catmullRom(c0.s, c1.s, c2.s, c3.s, t),
        r: c1.r + (c2.r - c1.r) * t
      })
    }
  }
  dense.push(controls[n - 1]!)
  const out: CurvePoint[] = [dense[0]!]
  let carried = 0
  for (let i = 1; i < dense.length; i++) {
    const prev = dense[i - 1]!
    const cur = dense[i]!
    const len = Math.hypot(cur.a - prev.a, cur.p - prev.p, cur.s - prev.s)
    let along = step - carried
    while (along <= len) {
      const t = along / len
      out.push({
        a: prev.a + (cur.a - prev.a) * t,
        p: prev.p + (cur.p - prev.p) * t,
        s: prev.s + (cur.s - prev.s) * t,
        r: prev.r + (cur.r - prev.r) * t
      })
      along += step
    }
    carried = len - (along - step)
  }
  const last = dense[dense.length - 1]!
  const tail = out[out.length - 1]!
  if (tail.a !== last.a || tail.p !== last.p || tail.s !== last.s) out.push(last)
  return out
}

/** Total length of a polyline of samples, in millimetres. */
export const curveLength = (points: ReadonlyArray<CurvePoint>): number => {
  let len = 0
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!
    const b = points[i]!
    len += Math.hypot(b.a - a.a, b.p - a.p, b.s - a.s)
  }
  return len
}
