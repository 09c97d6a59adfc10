/**
 * rstn's version, from the package.json of the installed package. The file is found by walking
 * up from this module, so it is the same whether the sources run (src/cli) or the bundle
 * (dist/), and wherever npm installed the package.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const packageVersion = (): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const file = path.join(dir, "package.json")
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: unknown; version?: unknown }
      if (pkg.name === "rstn" && typeof pkg.version === "string") return pkg.version
    }
    const up = path.dirname(dir)
    if (up === dir) return "unknown"
    dir = up
  }
}
