/**
 * One synthetic abdomen: the ordered layers (solid + HU + label) of a case, drawn from a seeded
 * stream. Everything is placed in patient millimetres (a toward the patient's left, p
 * posterior, s superior; s = 0 at the level of the pancreatic neck) and scaled to the case's
 * body size, so the same case renders alike at every phantom size.
 *
 * The target (label 1) is a pancreas-like tube: lobulated, curved, lying anterior to the aorta
 * and spine with its head in the duodenal C-loop and its tail at the splenic hilum, embedded
 * among tissue of similar attenuation (duodenum, jejunal loops, splenic vein, SMV, stomach,
 * lymph nodes), so that finding it takes more than a threshold. HU values are typical of a
 * portal-venous phase CT; each case jitters them.
 */
import type { Rng } from "../random.ts"
import { paintSlice, type Layer, type Paint } from "./raster.ts"
import { column, ellipsoid, tube, type Shape } from "./shapes.ts"
import { smoothField } from "./smooth-field.ts"
import { sampleCurve, type CurvePoint } from "./spline.ts"

export interface Anatomy {
  readonly layers: ReadonlyArray<Layer>
  /** In-plane field of view, mm (the grid divides it into voxels). */
  readonly fov: number
  /** s (mm) at the centre of the scanned range. */
  readonly sCenter: number
  /** Standard deviation of the image noise after blurring, HU. */
  readonly noiseStd: number
  /** Extent of the target along s and its largest axial cross-section (mm²). */
  readonly target: { readonly sMin: number; readonly sMax: number; readonly maxSectionArea: number }
}

/** Step between the balls of a swept tube, relative to its smallest radius. */
const TUBE_STEP = 0.35

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v)

/** Largest axial cross-section of a shape in mm², rasterized at 0.5 mm every 1 mm of s. */
const maxSectionArea = (shape: Shape): number => {
  const step = 0.5
  let aMin = Infinity
  let aMax = -Infinity
  let pMin = Infinity
  let pMax = -Infinity
  for (let s = shape.sMin; s <= shape.sMax; s += 1) {
    shape.section(s, (e) => {
      const r = Math.max(e.ra, e.rp)
      aMin = Math.min(aMin, e.a - r)
      aMax = Math.max(aMax, e.a + r)
      pMin = Math.min(pMin, e.p - r)
      pMax = Math.max(pMax, e.p + r)
    })
  }
  if (!Number.isFinite(aMin)) return 0
  const nx = Math.ceil((aMax - aMin) / step) + 3
  const ny = Math.ceil((pMax - pMin) / step) + 3
  const frame = { nx, ny, spacing: step, ci: 1 - aMin / step, cj: 1 - pMin / step }
  const hu = new Float32Array(nx * ny)
  const label = new Uint8Array(nx * ny)
  const layer: Layer = { name: "target", shape, paint: 0, label: 1 }
  let best = 0
  for (let s = shape.sMin; s <= shape.sMax; s += 1) {
    label.fill(0)
    paintSlice(hu, label, 0, frame, s, [layer])
    let n = 0
    for (let i = 0; i < label.length; i++) n += label[i]!
    best = Math.max(best, n)
  }
  return best * step * step
}

export const drawAnatomy = (rng: Rng): Anatomy => {
  const jit = (mean: number, sd: number): number => mean + sd * rng.normal()
  const layers: Layer[] = []
  const add = (name: string, shape: Shape, paint: Paint, label = 0): void => {
    layers.push({ name, shape, paint, label })
  }

  // --- framing and body habitus --------------------------------------------------------
  // rstn-reference.md "Data": NIH Pancreas-CT is 512x512 at 0.5–1.0 mm; 0.7–0.8 mm puts a
  // 358–410 mm field of view around the body.
  const fov = 512 * rng.uniform(0.7, 0.8)
  const W = rng.uniform(132, 168) // half-width of the body
  const D = W * rng.uniform(0.66, 0.76) // half AP depth
  const a0 = rng.uniform(-6, 6)
  const p0 = rng.uniform(-10, 2)
  const fatThickness = rng.uniform(8, 30)
  const wallThickness = rng.uniform(9, 14)
  const Wc = W - fatThickness - wallThickness
  const Dc = D - fatThickness - wallThickness
  // Scale of the reference abdomen (cavity half-axes 125 x 80 mm) to this one.
  const fa = Wc / 125
  const fp = Dc / 80
  const f = (fa + fp) / 2
  const fs = rng.uniform(0.9, 1.1)
  const spineFront = p0 + 0.12 * D // anterior edge of the vertebral bodies
  /** A reference-abdomen point mapped into this case. */
  const at = (a: number, p: number, s: number): { a: number; p: number; s: number } => ({
    a: a0 + a * fa,
    p: spineFront + p * fp,
    s: s * fs
  })
  const pt = (a: number, p: number, s: number, r: number): CurvePoint => ({ ...at(a, p, s), r: r * f })
  const radii = (a: number, p: number, s: number) => ({ a: a * f, p: p * f, s: s * fs })
  const sweep = (controls: ReadonlyArray<CurvePoint>): CurvePoint[] => {
    const rMin = Math.min(...controls.map((c) => c.r))
    return sampleCurve(controls, Math.max(0.4, TUBE_STEP * rMin))
  }
  /** Tube points with the radius shrunk by `by` mm (the lumen inside a wall). */
  const shrink = (points: ReadonlyArray<CurvePoint>, by: number): CurvePoint[] =>
    points.map((q) => ({ ...q, r: Math.max(0.5, q.r - by) }))

  // --- tissue intensities (HU) ---------------------------------------------------------
  const hu = {
    air: -1000,
    subcutaneousFat: jit(-100, 6),
    visceralFat: jit(-95, 6),
    muscle: jit(52, 5),
    liver: jit(105, 10),
    spleen: jit(115, 10),
    cortex: jit(175, 15),
    medulla: jit(125, 10),
    sinusFat: jit(-70, 10),
    artery: jit(185, 20),
    vein: jit(150, 12),
    bowelWall: jit(92, 8),
    fluid: jit(18, 6),
    gas: jit(-950, 20),
    stool: jit(30, 8),
    boneCortex: jit(800, 60),
    cancellous: jit(230, 25),
    disc: jit(85, 8),
    csf: jit(15, 4),
    bile: jit(10, 4),
    lung: jit(-860, 25),
    node: jit(55, 6),
    table: 60,
    pancreas: jit(85, 8)
  }

  // --- body, wall, cavity --------------------------------------------------------------
  const bodyPMax = p0 + 0.96 * D // flattened where the back lies on the table
  add("table", column(-Infinity, Infinity, () => ({ a: a0, p: p0 + D + 9, ra: fov * 0.42, rp: 5, angle: 0 })), hu.table)
  add("body", column(-Infinity, Infinity, () => ({ a: a0, p: p0, ra: W, rp: D, angle: 0, pMax: bodyPMax })), hu.subcutaneousFat)
  add(
    "abdominal wall",
    column(-Infinity, Infinity, () => ({ a: a0, p: p0, ra: W - fatThickness, rp: D - fatThickness, angle: 0, pMax: bodyPMax - 6 })),
    hu.muscle
  )
  add("cavity", column(-Infinity, Infinity, () => ({ a: a0, p: p0, ra: Wc, rp: Dc, angle: 0 })), hu.visceralFat)

  // --- lung bases (chest end of a long scan) -------------------------------------------
  for (const side of [-1, 1]) {
    add("lung", ellipsoid(at(side * 72, 25, 205), radii(55, 70, 110)), hu.lung)
  }

  // --- muscles of the back and psoas ---------------------------------------------------
  for (const side of [-1, 1]) {
    add("paraspinal muscle", ellipsoid(at(side * 34, 52, 0), { a: 27 * f, p: 30 * f, s: 1e4 }), hu.muscle)
    const psoasTop = 20
    add(
      "psoas",
      column(-Infinity, psoasTop * fs, (s) => {
        const r = Math.min(24, 4 + 0.14 * (psoasTop - s / fs)) * f
        const c = at(side * (26 + 0.45 * r), 10 + 0.25 * r, 0)
        return { a: c.a, p: c.p, ra: r, rp: r * 0.85, angle: 0 }
      }),
      hu.muscle
    )
  }

  // --- spine: vertebral bodies with cortical rims and discs, arch, processes, canal -------
  const vertebraPeriod = 38 * fs // body + disc height
  const discHeight = 8 * fs
  const phase = rng.uniform(0, vertebraPeriod)
  const isDisc = (s: number): boolean => {
    const m = (((s - phase) % vertebraPeriod) + vertebraPeriod) % vertebraPeriod
    return m < discHeight
  }
  const spineCenter = at(0, 16, 0)
  const bodyRa = 21 * f
  const bodyRp = 16 * f
  const inBone = (s: number, e: { a: number; p: number; ra: number; rp: number; angle: number }) => (isDisc(s) ? undefined : e)
  const arch = at(0, 44, 0)
  add("vertebral arch", column(-Infinity, Infinity, (s) => inBone(s, { a: arch.a, p: arch.p, ra: 19 * f, rp: 15 * f, angle: 0 })), hu.boneCortex)
  const spinous = at(0, 66, 0)
  add("spinous process", column(-Infinity, Infinity, (s) => inBone(s, { a: spinous.a, p: spinous.p, ra: 5 * f, rp: 17 * f, angle: 0 })), hu.boneCortex)
  for (const side of [-1, 1]) {
    const tp = at(side * 30, 40, 0)
    add(
      "transverse process",
      column(-Infinity, Infinity, (s) => inBone(s, { a: tp.a, p: tp.p, ra: 14 * f, rp: 4.5 * f, angle: side * 0.2 })),
      hu.boneCortex
    )
  }
  const canal = at(0, 43, 0)
  add("spinal canal", column(-Infinity, Infinity, () => ({ a: canal.a, p: canal.p, ra: 9 * f, rp: 8 * f, angle: 0 })), hu.csf)
  add(
    "vertebral body",
    column(-Infinity, Infinity, () => ({ a: spineCenter.a, p: spineCenter.p, ra: bodyRa, rp: bodyRp, angle: 0 })),
    (_a, _p, s) => (isDisc(s) ? hu.disc : hu.boneCortex)
  )
  add(
    "cancellous bone",
    column(-Infinity, Infinity, () => ({ a: spineCenter.a, p: spineCenter.p, ra: bodyRa - 3, rp: bodyRp - 3, angle: 0 })),
    (_a, _p, s) => (isDisc(s) ? hu.disc : hu.cancellous)
  )
  // Iliac wings at the pelvic end of a long scan.
  for (const side of [-1, 1]) {
    add("iliac wing", ellipsoid(at(side * 82, 25, -200), radii(11, 45, 55), { angle: side * 0.7 }), hu.boneCortex)
  }

  // --- kidneys ------------------------------------------------------------------------
  for (const side of [-1, 1]) {
    const c = at(side * 60 + jit(0, 4), 21 + jit(0, 3), side > 0 ? jit(5, 8) : jit(-14, 8))
    const angle = side * rng.uniform(0.45, 0.75)
    const r = radii(jit(31, 2), jit(23, 2), jit(53, 4))
    add("kidney", ellipsoid(c, r, { angle }), hu.cortex)
    add("renal medulla", ellipsoid(c, { a: r.a * 0.6, p: r.p * 0.55, s: r.s * 0.8 }, { angle }), hu.medulla)
    const hilum = { a: c.a - side * 9 * f, p: c.p - 7 * f, s: c.s }
    add("renal sinus", ellipsoid(hilum, radii(9, 7, 22), { angle }), hu.sinusFat)
  }

  // --- liver, gallbladder, spleen -------------------------------------------------------
  const liverTexture = smoothField(rng, 6, 20, 60)
  const liverPaint: Paint = (a, p, s) => hu.liver + 4 * liverTexture.at(a, p, s)
  add("liver right lobe", ellipsoid(at(-62 + jit(0, 4), -16, 58 + jit(0, 8)), radii(jit(57, 3), 67, jit(85, 6)), { angle: 0.15 }), liverPaint)
  add("liver left lobe", ellipsoid(at(2, -58, 76), radii(jit(58, 5), 27, 42), { angle: -0.2 }), liverPaint)
  add("liver segment IV", ellipsoid(at(-26, -34, 68), radii(30, 30, 45)), liverPaint)
  add("gallbladder", ellipsoid(at(-42 + jit(0, 4), -63, jit(10, 6)), radii(jit(12, 2), jit(14, 2), jit(26, 4)), { angle: 0.4 }), hu.bile)
  add("spleen", ellipsoid(at(88, 26 + jit(0, 4), jit(56, 6)), radii(jit(48, 4), jit(21, 2), jit(52, 5)), { angle: -1.04 }), hu.spleen)

  // --- stomach ------------------------------------------------------------------------
  const gasLevel = (pts: ReadonlyArray<{ p: number }>, gasFraction: number): number => {
    // Gas rises anteriorly (small p) in a supine patient: the level sits `gasFraction` of the
    // way from the most anterior to the most posterior point of the lumen's centre line.
    const ps = pts.map((q) => q.p)
    const lo = Math.min(...ps)
    const hi = Math.max(...ps)
    return lo - 8 + (hi - lo + 16) * gasFraction
  }
  const stomachCenter = at(46, -55, 66)
  const stomachRadii = radii(40, 29, 58)
  const stomachGas = rng.uniform(0.1, 0.5)
  add("stomach wall", ellipsoid(stomachCenter, stomachRadii, { angle: 0.5 }), hu.bowelWall)
  add(
    "stomach lumen",
    ellipsoid(stomachCenter, { a: stomachRadii.a - 5, p: stomachRadii.p - 5, s: stomachRadii.s - 5 }, { angle: 0.5 }),
    { kind: "level", p: stomachCenter.p - stomachRadii.p + 2 * stomachRadii.p * stomachGas, anterior: hu.gas, posterior: hu.fluid }
  )
  const antrum = sweep([pt(40, -56, 22, 15), pt(12, -62, 10, 13), pt(-14, -56, 12, 10)])
  add("gastric antrum wall", tube(antrum), hu.bowelWall)
  add("gastric antrum lumen", tube(shrink(antrum, 4.5)), { kind: "level", p: gasLevel(antrum, stomachGas), anterior: hu.gas, posterior: hu.fluid })

  // --- colon --------------------------------------------------------------------------
  const stoolField = smoothField(rng, 8, 6, 18)
  const colonContent: Paint = (a, p, s) => {
    const v = stoolField.at(a, p, s)
    return v > 0.35 ? hu.gas : hu.stool + 10 * v
  }
  const colon = sweep([
    pt(-100, -2, -230, 20),
    pt(-100, -10, -90, 20),
    pt(-95, -30, -20, 19),
    pt(-80, -56, -6 + jit(0, 6), 17),
    pt(-40, -76, -26 + jit(0, 8), 16),
    pt(0, -79, -48 + jit(0, 12), 16),
    pt(40, -76, -26 + jit(0, 8), 16),
    pt(84, -50, 18 + jit(0, 6), 15),
    pt(101, -20, 8, 14),
    pt(102, -6, -60, 14),
    pt(98, 0, -230, 14)
  ])
  add("colon wall", tube(colon), hu.bowelWall)
  add("colon lumen", tube(shrink(colon, 2.5)), colonContent)

  // --- small bowel -----------------------------------------------------------------------
  /** A random loop: a persistent random walk inside a box of the reference abdomen. */
  const loop = (
    start: { a: number; p: number; s: number },
    box: { a: [number, number]; p: [number, number]; s: [number, number] },
    steps: number,
    radius: number
  ): CurvePoint[] => {
    let { a, p, s } = start
    let da = rng.normal()
    let dp = rng.normal()
    let ds = rng.normal()
    const controls: CurvePoint[] = []
    for (let i = 0; i < steps; i++) {
      controls.push(pt(a, p, s, radius * rng.uniform(0.9, 1.1)))
      da = 0.55 * da + rng.normal()
      dp = 0.55 * dp + rng.normal()
      ds = 0.55 * ds + rng.normal()
      const n = Math.hypot(da, dp, ds) || 1
      const step = rng.uniform(20, 30)
      a += (da / n) * step
      p += (dp / n) * step
      s += (ds / n) * step
      // Reflect at the walls of the box.
      if (a < box.a[0] || a > box.a[1]) (da = -da), (a = clamp(a, box.a[0], box.a[1]))
      if (p < box.p[0] || p > box.p[1]) (dp = -dp), (p = clamp(p, box.p[0], box.p[1]))
      if (s < box.s[0] || s > box.s[1]) (ds = -ds), (s = clamp(s, box.s[0], box.s[1]))
    }
    return sweep(controls)
  }
  const bowel = (name: string, points: CurvePoint[]): void => {
    // Collapsed loops are nearly all wall, distended ones hold fluid and sometimes gas.
    const collapsed = rng.next() < 0.35
    const wall = collapsed ? rng.uniform(4, 6) : rng.uniform(2, 3)
    const gas = rng.next() < 0.3 ? rng.uniform(0.1, 0.4) : 0
    add(`${name} wall`, tube(points), hu.bowelWall + jit(0, 5))
    add(
      `${name} lumen`,
      tube(shrink(points, wall)),
      gas > 0 ? { kind: "level", p: gasLevel(points, gas), anterior: hu.gas, posterior: hu.fluid } : hu.fluid + jit(0, 4)
    )
  }
  const ileumBox = { a: [-85, 85] as [number, number], p: [-82, -4] as [number, number], s: [-235, -40] as [number, number] }
  const nIleum = 10 + rng.int(5)
  for (let i = 0; i < nIleum; i++) {
    const start = { a: rng.uniform(-80, 80), p: rng.uniform(-75, -10), s: rng.uniform(-230, -45) }
    bowel("small bowel", loop(start, ileumBox, 6 + rng.int(4), rng.uniform(9, 13)))
  }
  // Proximal jejunum from the duodenojejunal flexure, just below and in front of the
  // pancreatic body and tail: the target's closest look-alike neighbours.
  const jejunumBox = { a: [5, 100] as [number, number], p: [-82, -8] as [number, number], s: [-110, 12] as [number, number] }
  const nJejunum = 3 + rng.int(3)
  for (let i = 0; i < nJejunum; i++) {
    const start = { a: rng.uniform(25, 80), p: rng.uniform(-70, -30), s: rng.uniform(-40, 5) }
    bowel("jejunum", loop(start, jejunumBox, 5 + rng.int(3), rng.uniform(9, 12)))
  }

  // --- mesenteric vessels and lymph nodes ---------------------------------------------------
  const nBranches = 5 + rng.int(4)
  for (let i = 0; i < nBranches; i++) {
    const s0 = rng.uniform(-120, -30)
    const end = { a: rng.uniform(-70, 70), p: rng.uniform(-80, -40), s: s0 - rng.uniform(20, 80) }
    const mid = { a: end.a * 0.5 + rng.uniform(-10, 10), p: -50 + rng.uniform(-10, 10), s: (s0 + end.s) / 2 }
    add(
      "mesenteric vessel",
      tube(sweep([pt(4, -48, s0, 2.6), pt(mid.a, mid.p, mid.s, 2.2), pt(end.a, end.p, end.s, 1.6)])),
      rng.next() < 0.5 ? hu.artery : hu.vein
    )
  }
  const nNodes = 3 + rng.int(4)
  for (let i = 0; i < nNodes; i++) {
    const c = at(rng.uniform(-30, 60), rng.uniform(-62, -20), rng.uniform(-45, 20))
    add("lymph node", ellipsoid(c, radii(rng.uniform(3.5, 7), rng.uniform(3, 5.5), rng.uniform(4, 8)), { angle: rng.uniform(0, Math.PI) }), hu.node)
  }

  // --- the target: a pancreas-like organ ------------------------------------------------------
  // Per case: shift, length, thickness, curvature of the body, height of the tail.
  const shift = { a: jit(0, 5), p: jit(0, 4), s: jit(0, 8) }
  const length = rng.uniform(0.85, 1.15)
  const thickness = rng.uniform(0.75, 1.1)
  const bend = rng.uniform(-1, 1) * 10
  const tailRise = jit(0, 6)
  const headSize = rng.uniform(0.85, 1.1)
  const base: ReadonlyArray<readonly [number, number, number, number, number]> = [
    // a, p, s, r, weight of the body bend at this point
    [-20, -30, -40, 7, 0],
    [-36, -33, -32, 12.5 * headSize, 0],
    [-38, -38, -14, 13.5 * headSize, 0],
    [-12, -50, -5, 9, 0.3],
    [18, -48, 4, 10, 1],
    [48, -34, 14, 9, 0.8],
    [71, -13, 22, 8, 0.2],
    [79, -1, 26, 6, 0]
  ]
  const neckA = -12
  const controls = base.map(([a, p, s, r, w], i) =>
    pt(
      neckA + (a - neckA) * length + shift.a + jit(0, 3),
      p - w * bend + shift.p + jit(0, 2.5),
      s + shift.s + (i >= 5 ? tailRise * (i - 4) / 3 : 0) + jit(0, 3),
      r * thickness
    )
  )
  const centre = sampleCurve(controls, 1.5)
  // Lobulation: a wobbling radius along the centre line and small lobules budding off it.
  const wobble = smoothField(rng, 5, 15, 40)
  const lobes: CurvePoint[] = centre.map((q) => ({ ...q, r: q.r * (1 + 0.12 * wobble.at(q.a, q.p, q.s)) }))
  const nLobules = Math.round(centre.length / 4)
  for (let i = 0; i < nLobules; i++) {
    const q = centre[rng.int(centre.length)]!
    const dir = [rng.normal(), rng.normal(), rng.normal()]
    const n = Math.hypot(dir[0]!, dir[1]!, dir[2]!) || 1
    const off = q.r * rng.uniform(0.55, 0.85)
    lobes.push({ a: q.a + (dir[0]! / n) * off, p: q.p + (dir[1]! / n) * off, s: q.s + (dir[2]! / n) * off, r: q.r * rng.uniform(0.35, 0.55) })
  }

  // Peripancreatic stranding: the fat immediately around the target is streaked with soft
  // tissue (small vessels, lymphatics, fibrous septa), so its border fades into the fat.
  const stranding = smoothField(rng, 6, 8, 20)
  const strandingAmount = rng.uniform(0.55, 0.9)
  add(
    "peripancreatic stranding",
    tube(centre.map((q) => ({ ...q, r: q.r + 8 * f }))),
    (a, p, s) => {
      const w = clamp(strandingAmount + 0.3 * stranding.at(a, p, s), 0, 1)
      return hu.visceralFat + (hu.node - hu.visceralFat) * w
    }
  )

  // The target's neighbours, hugging it as in a real abdomen so that little fat separates
  // them from it: the collapsed posterior wall of the stomach in front of the body and tail,
  // jejunal loops below them, the tortuous splenic artery along the upper border and the
  // gastroduodenal artery in front of the head. Each is present in most cases, not all.
  const around = controls.slice(3)
  if (rng.next() < 0.85) {
    const r = 10 * f * rng.uniform(0.8, 1.2)
    bowel(
      "stomach (posterior wall)",
      sweep(around.map((c) => ({ a: c.a + jit(0, 3), p: c.p - c.r - r * rng.uniform(0.6, 0.9), s: c.s + jit(0, 3), r })))
    )
  }
  if (rng.next() < 0.8) {
    const r = 10 * f * rng.uniform(0.8, 1.2)
    bowel(
      "jejunum (below the pancreas)",
      sweep(around.slice(0, 4).map((c) => ({ a: c.a + jit(0, 5), p: c.p + jit(0, 3), s: c.s - c.r - r * rng.uniform(0.6, 0.9), r })))
    )
  }
  const splenicArtery: CurvePoint[] = []
  for (let i = 0; i + 1 < around.length; i++) {
    for (const t of [0, 0.5]) {
      const c0 = around[i]!
      const c1 = around[i + 1]!
      const r = c0.r + (c1.r - c0.r) * t
      splenicArtery.push({
        a: c0.a + (c1.a - c0.a) * t,
        p: c0.p + (c1.p - c0.p) * t + jit(0, 3),
        s: c0.s + (c1.s - c0.s) * t + r + 1.5 + jit(0, 2.5),
        r: 2.8 * f
      })
    }
  }
  add("splenic artery", tube(sweep(splenicArtery)), hu.artery)
  const head = controls[2]!
  add(
    "gastroduodenal artery",
    tube(sweep([{ ...head, p: head.p - head.r - 1.5, s: head.s + 18, r: 2.2 * f }, { ...head, p: head.p - head.r - 1, s: head.s - 15, r: 2 * f }])),
    hu.artery
  )

  // --- duodenum: the C-loop around the pancreatic head ------------------------------------
  const duodenum = sweep([
    pt(-14, -56, 12, 10),
    pt(-40, -50, 12 + jit(0, 3), 12),
    pt(-57, -38, 0, 13),
    pt(-60, -30, -24 + jit(0, 4), 13),
    pt(-53, -24, -46, 11),
    pt(-28, -24, -56 + jit(0, 4), 9),
    pt(0, -30, -58, 8),
    pt(18, -30, -52, 9),
    pt(28, -30, -38, 10),
    pt(36, -34, -27, 10)
  ])
  const duodenalGas = rng.next() < 0.4 ? rng.uniform(0.1, 0.35) : 0
  add("duodenal wall", tube(duodenum), hu.bowelWall)
  add(
    "duodenal lumen",
    tube(shrink(duodenum, rng.uniform(2.5, 4))),
    duodenalGas > 0 ? { kind: "level", p: gasLevel(duodenum, duodenalGas), anterior: hu.gas, posterior: hu.fluid } : hu.fluid
  )

  // --- great vessels and the veins around the pancreas ---------------------------------------
  const aorta = at(13, -12, 0)
  const aortaR = jit(11, 1) * f
  const bifurcation = -130 * fs
  add("aorta", column(bifurcation, Infinity, () => ({ a: aorta.a, p: aorta.p, ra: aortaR, rp: aortaR, angle: 0 })), hu.artery)
  for (const side of [-1, 1]) {
    add("iliac artery", tube(sweep([pt(13, -12, -130, 7.5), pt(13 + side * 22, -8, -170, 7), pt(13 + side * 45, -2, -235, 6.5)])), hu.artery)
  }
  const ivc = at(-24, -10, 0)
  add("inferior vena cava", column(-Infinity, Infinity, () => ({ a: ivc.a, p: ivc.p, ra: 13.5 * f, rp: 9.5 * f, angle: 0.1 })), hu.vein)
  add("superior mesenteric artery", tube(sweep([pt(13, -12, 2, 4.5), pt(11, -28, -6, 4.5), pt(8, -42, -30, 4.2), pt(6, -48, -70, 4), pt(4, -50, -140, 3.2)])), hu.artery)
  add("superior mesenteric vein", tube(sweep([pt(-8, -52, -140, 4.5), pt(-8, -49, -70, 5.5), pt(-8, -43, -30, 6), pt(-9, -33, -8, 6.5), pt(-11, -29, -3, 7)])), hu.vein)
  add("portal vein", tube(sweep([pt(-11, -29, -3, 7), pt(-30, -30, 18, 7), pt(-50, -26, 40, 6)])), hu.vein)
  add("left renal vein", tube(sweep([pt(44, 8, -6, 4.5), pt(25, -22, -9, 4.5), pt(0, -27, -10, 4.5), pt(-22, -12, -10, 5)])), hu.vein)

  // The splenic vein runs along the posterior surface of the body and tail.
  const splenicVein = sweep(
    controls.slice(3).map((c, i) => ({ a: c.a + 2, p: c.p + c.r + 2.5 * f, s: c.s + (i === 0 ? 1 : 0), r: 4.5 * f }))
  )
  add("splenic vein", tube(splenicVein), hu.vein)
  const texture = smoothField(rng, 6, 6, 16)
  const clefts = smoothField(rng, 6, 5, 12)
  const fatty = rng.uniform(0, 1) // fatty infiltration varies between patients
  const pancreasPaint: Paint = (a, p, s) => {
    const c = clefts.at(a, p, s)
    const fat = c > 1.1 ? Math.min(1, (c - 1.1) * 1.5) * fatty * 90 : 0
    return hu.pancreas + 7 * texture.at(a, p, s) - fat
  }
  const pancreas = tube(lobes)
  add("pancreas", pancreas, pancreasPaint, 1)

  return {
    layers,
    fov,
    sCenter: rng.uniform(-35, 15),
    noiseStd: rng.uniform(10, 18),
    target: { sMin: pancreas.sMin, sMax: pancreas.sMax, maxSectionArea: maxSectionArea(pancreas) }
  }
}

