import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import pngjs from "pngjs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { openPage, type OpenedPage } from "../../support/chromium.ts"
import { CHROMIUM, requireTool, toolRuns } from "../../support/external-tool.ts"
import { runRstn, runSegments } from "./child-run.ts"
import { tinyPipeline } from "./tiny.ts"

const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rstn-data-")), "phantom")

describe("report.html at the end of a run", () => {
  let tiny: ReturnType<typeof tinyPipeline>
  let report: string
  let first: Awaited<ReturnType<typeof runRstn>>
  let cases: Array<{ caseId: string; rounds: unknown[] }>

  beforeAll(async () => {
    tiny = tinyPipeline(dataDir)
    report = path.join(tiny.runDir, "report.html")
    first = await runRstn(["run", tiny.file, "--no-tui"])
    cases = JSON.parse(fs.readFileSync(path.join(tiny.runDir, "cases.json"), "utf8"))
  }, 300_000)

  it("is written by the run, beside summary.md, with every case's rounds on three planes", () => {
    expect(first.code, first.output).toBe(0)
    expect(first.output).toContain("report.html")
    const html = fs.readFileSync(report, "utf8")
    const rounds = cases.reduce((n, c) => n + c.rounds.length, 0)
    expect(html.match(/<img src="data:image\/png;base64,/g)).toHaveLength(3 * rounds)
    expect(html.match(/<figure id="plot-[a-z-]+"[^>]*><svg/g)).toHaveLength(4)
  })

  it("is kept by a rerun that finds everything cached, and written again by one when it is gone", async () => {
    const before = fs.statSync(report).mtimeMs
    const cached = await runRstn(["run", tiny.file, "--no-tui"])
    expect(cached.code, cached.output).toBe(0)
    expect(runSegments(tiny.runDir).at(-1)!.filter((e) => e._tag === "node-started")).toHaveLength(0)
    expect(fs.statSync(report).mtimeMs).toBe(before)
    const html = fs.readFileSync(report, "utf8")
    fs.rmSync(report)
    const again = await runRstn(["resume", tiny.runDir, "--no-tui"])
    expect(again.code, again.output).toBe(0)
    // the page names the last run's end, which moved on: compare the rest
    const body = (s: string) => s.replace(/last run done at [^<]+/, "")
    expect(body(fs.readFileSync(report, "utf8"))).toBe(body(html))
  }, 120_000)

  it("`rstn report RUN_DIR` writes the same page again", async () => {
    const html = fs.readFileSync(report, "utf8")
    const r = await runRstn(["report", tiny.runDir])
    expect(r.code, r.output).toBe(0)
    expect(r.output.trim()).toBe(`wrote ${report}`)
    expect(fs.readFileSync(report, "utf8")).toBe(html)
    const bad = await runRstn(["report", tiny.dir])
    expect(bad.code).toBe(1)
    expect(bad.output).toContain(`${path.join(tiny.dir, "pipeline.json")}: not found`)
  }, 60_000)

  describe.runIf(toolRuns(CHROMIUM))("in headless Chromium", () => {
    let page: OpenedPage
    beforeAll(async () => {
      requireTool(CHROMIUM)
      page = await openPage(pathToFileURL(report).href)
    }, 60_000)
    afterAll(() => page?.close())

    it("loads every image and plot with no console error, and looks like a report", async () => {
      const checks = await page.evaluate<{ images: number; broken: string[]; plots: Array<{ id: string; width: number; height: number }>; cases: number }>(`
        (async () => {
          const images = [...document.images]
          await Promise.all(images.map((i) => i.decode().catch(() => undefined)))
          return {
            images: images.length,
            broken: images.filter((i) => !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0)).map((i) => i.alt),
            plots: [...document.querySelectorAll("figure svg")].map((s) => ({ id: s.parentElement.id, ...JSON.parse(JSON.stringify(s.getBoundingClientRect())) })),
            cases: document.querySelectorAll("section.case").length
          }
        })()`)
      const rounds = cases.reduce((n, c) => n + c.rounds.length, 0)
      expect(checks.images).toBe(3 * rounds)
      expect(checks.broken).toEqual([])
      expect(checks.cases).toBe(cases.length)
      expect(checks.plots.map((p) => p.id)).toEqual(["plot-dsc", "plot-inter-dsc", "plot-precision-recall", "plot-loss"])
      for (const p of checks.plots) expect(p.width * p.height, p.id).toBeGreaterThan(100 * 100)
      expect(page.problems()).toEqual([])

      const shot = await page.screenshot(1280)
      const file = path.join(tiny.dir, "report.png")
      fs.writeFileSync(file, shot)
      const png = pngjs.PNG.sync.read(shot)
      expect(png.width).toBe(1280)
      expect(png.height).toBeGreaterThan(1500)
      // not a blank page: plots, tables and images darken a good part of it
      let dark = 0
      for (let i = 0; i < png.width * png.height; i++) if (png.data[i * 4]! < 200) dark++
      expect(dark / (png.width * png.height)).toBeGreaterThan(0.005)
    }, 60_000)
  })
})
