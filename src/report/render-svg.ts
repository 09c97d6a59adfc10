/**
 * Vega-Lite specifications drawn to SVG in Node: compiled to Vega, run in a headless View
 * (renderer "none": no canvas or DOM needed) and serialised with `toSVG()`. Vega measures text
 * without a canvas by estimating glyph widths, which is good enough for axis labels.
 */
import * as vega from "vega"
import * as vegaLite from "vega-lite"
import type { TopLevelSpec } from "vega-lite"

export const renderSvg = async (spec: TopLevelSpec): Promise<string> => {
  const compiled = vegaLite.compile(spec).spec
  const view = new vega.View(vega.parse(compiled), { renderer: "none" })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}
