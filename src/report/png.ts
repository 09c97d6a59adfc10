/**
 * PNG encoding of overlay images with pngjs, as the report embeds them: RGB without alpha (the
 * overlays are opaque), and as `data:` URIs so report.html is one self-contained file.
 */
import pngjs from "pngjs"
import type { Rgba } from "./overlay.ts"

export const encodePng = (image: Rgba): Buffer => {
  if (image.data.length !== image.width * image.height * 4) {
    throw new RangeError(`encodePng: ${image.data.length} bytes for a ${image.width}x${image.height} RGBA image`)
  }
  const png = new pngjs.PNG({ width: image.width, height: image.height, colorType: 2, inputColorType: 6, inputHasAlpha: true })
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.length)
  return pngjs.PNG.sync.write(png, { colorType: 2, inputColorType: 6, inputHasAlpha: true, deflateLevel: 9 })
}

export const pngDataUri = (image: Rgba): string => `data:image/png;base64,${encodePng(image).toString("base64")}`
