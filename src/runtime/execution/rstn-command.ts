/**
 * How to start this rstn again in another process (a local worker, a Slurm job): this Node
 * binary running this checkout's (or installation's) `bin/rstn.js`. Found from this module's own
 * location, so it is the same code whether the driver runs from `dist/` or, in tests, from the
 * TypeScript sources (the bin runs `dist/`, which the test setup builds first).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const packageRoot = (): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = path.join(dir, "package.json")
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, "utf8")) as { name?: unknown }).name === "rstn") return dir
    const up = path.dirname(dir)
    if (up === dir) throw new Error(`cannot find rstn's package.json above ${fileURLToPath(import.meta.url)}`)
    dir = up
  }
}

/** The program and arguments that run `rstn`: prepend them to a command's own arguments. */
export const rstnCommand = (): readonly [string, ...string[]] => [process.execPath, path.join(packageRoot(), "bin", "rstn.js")]
