/**
 * Checks on where a resolved pipeline reads and writes, made before anything runs: path
 * arithmetic on the absolute paths `resolve.ts` produced, no file system access. A listed case
 * must stay inside the dataset's directory, and the run directory must be neither inside the
 * dataset's directory (a run would write among the data, and a later listing could pick its files up) nor
 * under a system directory (a typo such as `dir: /usr` would scatter run files there).
 * Each problem points at the key that set the path.
 */
import * as path from "node:path"
import type { Locator } from "./checks.ts"
import { type Diagnostic, diagnostic } from "./diagnostic.ts"
import type { Pipeline } from "./pipeline.ts"
import { formatPath, type Path } from "./tree.ts"

/**
 * Directories of the operating system (Filesystem Hierarchy Standard) a run must not write
 * under; the root itself is refused too. Not /tmp, /var/tmp or /home: those are for user data.
 */
export const SYSTEM_DIRS: ReadonlyArray<string> = ["/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/run", "/sbin", "/sys", "/usr", "/var"]
const USER_PLACES_UNDER_SYSTEM_DIRS: ReadonlyArray<string> = ["/var/tmp", "/run/user"]

/** Whether `inner` is `outer` or lies below it (both absolute and normalised). */
export const isWithin = (outer: string, inner: string): boolean => {
  const rel = path.relative(outer, inner)
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel))
}

const systemDirOf = (dir: string): string | undefined => {
  if (path.sep !== "/") return undefined
  if (dir === "/") return "/"
  if (USER_PLACES_UNDER_SYSTEM_DIRS.some((u) => isWithin(u, dir))) return undefined
  return SYSTEM_DIRS.find((s) => isWithin(s, dir))
}

/** The dataset's directories and the keys that name them. */
const datasetRoots = (p: Pipeline): ReadonlyArray<{ readonly dir: string; readonly key: Path }> => {
  const src = p.dataset.source
  switch (src.kind) {
    case "phantom":
      return [{ dir: src.dir, key: ["dataset", "source", "dir"] }]
    case "decathlon":
      return [{ dir: src.root, key: ["dataset", "source", "root"] }]
    case "nih-pancreas":
      return [
        { dir: src.images, key: ["dataset", "source", "images"] },
        { dir: src.labels, key: ["dataset", "source", "labels"] }
      ]
    default:
      return [{ dir: src.base, key: ["dataset", "source", "base"] }]
  }
}

/** `p` is resolved: every path absolute (`resolve.ts`). */
export const checkPaths = (p: Pipeline, where: Locator): ReadonlyArray<Diagnostic> => {
  const out: Diagnostic[] = []
  const report = (at: Path, message: string, hint: string, related?: Path): void => {
    const target = !where.written(at) && related !== undefined && where.written(related) ? related : at
    out.push(diagnostic(where.locate(target), "reference", `${formatPath(at)}: ${message}`, hint))
  }
  const src = p.dataset.source
  if (src.kind === "pairs" || src.kind === "dicom") {
    const sides = src.kind === "pairs" ? (["image", "label"] as const) : (["series", "label"] as const)
    src.pairs.forEach((pair, i) => {
      for (const side of sides) {
        const value = (pair as Record<string, string>)[side]!
        if (!isWithin(src.base, path.resolve(src.base, value)) || path.resolve(src.base, value) === src.base) {
          report(
            ["dataset", "source", "pairs", i, side],
            `'${value}' is outside the dataset directory ${src.base}`,
            "list files inside dataset.source.base, relative to it, or set base to a directory that holds them"
          )
        }
      }
    })
  }
  const runDir = p.run.dir
  // A pairs base left to its default is the pipeline file's directory, typically the project
  // holding runs/ too: only a base written as the dataset's directory is one.
  for (const root of datasetRoots(p)) {
    const rootIsData = (src.kind !== "pairs" && src.kind !== "dicom") || where.written(root.key)
    if (rootIsData && isWithin(root.dir, runDir)) {
      report(
        ["run", "dir"],
        `the run directory ${runDir} is inside the dataset directory ${root.dir}: a run would write its files among the data`,
        "choose a run directory outside the dataset, e.g. run.dir: runs/{name}",
        root.key
      )
    }
  }
  const system = systemDirOf(runDir)
  if (system !== undefined) {
    report(
      ["run", "dir"],
      system === "/" ? "the run directory is the file system's root /" : `the run directory ${runDir} is under the system directory ${system}`,
      "write runs to a directory of your own, e.g. run.dir: runs/{name}"
    )
  }
  return out
}
