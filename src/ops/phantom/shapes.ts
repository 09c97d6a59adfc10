/**
 * Implicit solids in patient millimetres, described by their cross-section in each axial
 * plane: every solid used by the phantom (ellipsoids, columns whose ellipse varies along s,
 * tubes swept along curves) cuts an axial plane in a set of ellipses, which the rasterizer
 * fills row by row. Coordinates: a toward the patient's left, p posterior, s superior.
 */
import type { CurvePoint } from "./spline.ts"

/** An ellipse in an axial plane, optionally cut to the rows p in [pMin, pMax]. */
export interface Ellipse {
  readonly a: number
  readonly p: number
  /** Semi-axis along the rotated a direction. */
  readonly ra: number
  /** Semi-axis along the rotated p direction. */
  readonly rp: number
  /** Rotation in the axial plane, radians, from +a toward +p. */
  readonly angle: number
  readonly pMin?: number
  readonly pMax?: number
}

export interface Shape {
  /** The solid lies within sMin <= s <= sMax. */
  readonly sMin: number
  readonly sMax: number
  /** Emit the ellipses the solid cuts in the plane at height s. */
  readonly section: (s: number, emit: (e: Ellipse) => void) => void
}

export interface Point3 {
  readonly a: number
  readonly p: number
  readonly s: number
}

export interface EllipsoidOptions {
  /** Rotation in the axial plane (radians). */
  readonly angle?: number
  readonly pMin?: number
  readonly pMax?: number
}

/** An ellipsoid with one axis along s, rotated in the axial plane. */
export const ellipsoid = (center: Point3, radii: Point3, options: EllipsoidOptions = {}): Shape => ({
  sMin: center.s - radii.s,
  sMax: center.s + radii.s,
  section: (s, emit) => {
    const d = (s - center.s) / radii.s
    const f = 1 - d * d
    if (f <= 0) return
    const k = Math.sqrt(f)
    emit({
      a: center.a,
      p: center.p,
      ra: radii.a * k,
      rp: radii.p * k,
      angle: options.angle ?? 0,
      ...(options.pMin !== undefined ? { pMin: options.pMin } : {}),
      ...(options.pMax !== undefined ? { pMax: options.pMax } : {})
    })
  }
})

/** A column along s whose cross-section is any ellipse-valued function of s. */
export const column = (sMin: number, sMax: number, at: (s: number) => Ellipse | undefined): Shape => ({
  sMin,
  sMax,
  section: (s, emit) => {
    if (s < sMin || s > sMax) return
    const e = at(s)
    if (e !== undefined && e.ra > 0 && e.rp > 0) emit(e)
  }
})

/** A tube swept along sampled curve points: the union of balls of radius r at each point. */
export const tube = (points: ReadonlyArray<CurvePoint>): Shape => {
  let sMin = Infinity
  let sMax = -Infinity
  for (const q of points) {
    sMin = Math.min(sMin, q.s - q.r)
    sMax = Math.max(sMax, q.s + q.r)
  }
  return {
    sMin,
    sMax,
    section: (s, emit) => {
      for (const q of points) {
        const d = s - q.s
        const f = q.r * q.r - d * d
        if (f <= 0) continue
        const r = Math.sqrt(f)
        emit({ a: q.a, p: q.p, ra: r, rp: r, angle: 0 })
      }
    }
  }
}

/** Several shapes painted as one. */
export const union = (shapes: ReadonlyArray<Shape>): Shape => ({
  sMin: Math.min(...shapes.map((x) => x.sMin)),
  sMax: Math.max(...shapes.map((x) => x.sMax)),
  section: (s, emit) => {
    for (const x of shapes) if (s >= x.sMin && s <= x.sMax) x.section(s, emit)
  }
})
