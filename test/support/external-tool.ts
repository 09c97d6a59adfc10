/**
 * Tools from outside npm that some tests need: Debian's nibabel and nifti_tool (independent
 * NIfTI implementations the interop tests check our files against), PyTorch with torchvision (the
 * weights interop test saves torchvision's VGG16 with them), pydicom and dcmtk (DICOM writers for
 * the series interop test), tmux (a pseudo-terminal for the terminal UI tests), a Slurm cluster
 * (the Slurm executor's test; `.ci/slurm-up`) and headless Chromium (the HTML report's test). On a developer's fresh machine a missing tool skips its tests, and
 * the test run prints one notice naming every missing tool and its Debian package (the global
 * setup, `missingToolsNotice`). Under CI=true, where .ci/run installs every tool, they fail
 * instead, so CI can never pass by skipping.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"

/** A tool the tests need: how to tell that it is missing, and the Debian package that has it. */
export interface ExternalTool {
  readonly name: string
  /** null when the tool works; otherwise why not. */
  readonly problem: () => string | null
  readonly debianPackage: string
}

/** Debian's Python, which has nibabel; the python3 first on PATH may not. */
export const PYTHON = "/usr/bin/python3"

export const NIBABEL: ExternalTool = {
  name: "nibabel",
  problem: () => {
    const r = fs.existsSync(PYTHON) ? spawnSync(PYTHON, ["-c", "import nibabel, numpy"], { encoding: "utf8" }) : undefined
    return r?.status === 0 ? null : `${PYTHON} cannot import nibabel${r ? ` (${r.stderr.trim().split("\n").at(-1)})` : ""}`
  },
  debianPackage: "python3-nibabel"
}

/** Debian's PyTorch and torchvision: the weights interop test saves torchvision's VGG16 with them. */
export const TORCHVISION: ExternalTool = {
  name: "torchvision",
  problem: () => {
    const r = fs.existsSync(PYTHON) ? spawnSync(PYTHON, ["-c", "import torch, torchvision"], { encoding: "utf8" }) : undefined
    return r?.status === 0 ? null : `${PYTHON} cannot import torch and torchvision${r ? ` (${r.stderr.trim().split("\n").at(-1)})` : ""}`
  },
  debianPackage: "python3-torch python3-torchvision"
}

export const NIFTI_TOOL: ExternalTool = {
  name: "nifti_tool",
  problem: () => {
    const r = spawnSync("nifti_tool", ["-ver"], { encoding: "utf8" })
    return r.error === undefined && r.status === 0 ? null : "nifti_tool is missing"
  },
  debianPackage: "nifti-bin"
}

export const TMUX: ExternalTool = {
  name: "tmux",
  problem: () => (spawnSync("tmux", ["-V"]).status === 0 ? null : "tmux is missing: the terminal UI tests drive `rstn` in a tmux pseudo-terminal"),
  debianPackage: "tmux"
}

/** A Slurm cluster this machine can submit to: `.ci/slurm-up` starts a one-node one (as root). */
export const SLURM: ExternalTool = {
  name: "slurm",
  problem: () => {
    const r = spawnSync("sinfo", ["-h", "-o", "%T"], { encoding: "utf8", timeout: 20_000 })
    if (r.error !== undefined) return "sinfo is missing: no Slurm client here (start a one-node cluster with `.ci/slurm-up`, as root)"
    const states = r.stdout.trim().split("\n").filter(Boolean)
    return r.status === 0 && states.some((s) => /^(idle|mixed|allocated)/.test(s))
      ? null
      : `no Slurm node is up (sinfo: ${(r.stdout || r.stderr).trim().split("\n")[0] || "nothing"}); start one with \`.ci/slurm-up\`, as root`
  },
  debianPackage: "slurm-wlm munge"
}

/** Headless Chromium: the report test opens report.html in it (test/support/chromium.ts). */
export const CHROMIUM: ExternalTool = {
  name: "chromium",
  problem: () => {
    const r = spawnSync("chromium", ["--version"], { encoding: "utf8", timeout: 20_000 })
    return r.error === undefined && r.status === 0 ? null : "chromium is missing: the report test opens report.html in headless Chromium"
  },
  debianPackage: "chromium"
}
/** pydicom, an independent DICOM writer for the series interop test (Debian's Python, as nibabel). */
export const PYDICOM: ExternalTool = {
  name: "pydicom",
  problem: () => {
    const r = fs.existsSync(PYTHON) ? spawnSync(PYTHON, ["-c", "import pydicom"], { encoding: "utf8" }) : undefined
    return r?.status === 0 ? null : `${PYTHON} cannot import pydicom${r ? ` (${r.stderr.trim().split("\n").at(-1)})` : ""}`
  },
  debianPackage: "python3-pydicom"
}

/** dcmtk's command-line tools (dump2dcm, dcmodify, dcmcjpeg, dcmdjpeg): another DICOM writer, and real compressed files. */
export const DCMTK: ExternalTool = {
  name: "dcmtk",
  problem: () => {
    const missing = ["dump2dcm", "dcmodify", "dcmcjpeg", "dcmdjpeg"].filter((t) => spawnSync(t, ["--version"]).error !== undefined)
    return missing.length === 0 ? null : `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} missing`
  },
  debianPackage: "dcmtk"
}

export const EXTERNAL_TOOLS: ReadonlyArray<ExternalTool> = [NIFTI_TOOL, NIBABEL, TORCHVISION, PYDICOM, DCMTK, TMUX, SLURM, CHROMIUM]

const problems = new Map<ExternalTool, string | null>()
/** Each tool is probed once per process (starting Python to import nibabel takes a while). */
const problemOf = (tool: ExternalTool): string | null => {
  if (!problems.has(tool)) problems.set(tool, tool.problem())
  return problems.get(tool)!
}

/** Throws the tool's problem: for a beforeAll, so a CI run without the tool fails saying why. */
export const requireTool = (tool: ExternalTool): void => {
  const p = problemOf(tool)
  if (p !== null) throw new Error(`${p}; install it with \`apt-get install ${tool.debianPackage}\` (.ci/run does)`)
}

/** Whether the tests needing `tool` run here (always under CI=true, where they must). */
export const toolRuns = (tool: ExternalTool): boolean => process.env.CI === "true" || problemOf(tool) === null

/** The one notice a test run prints when tools are missing here, or null. */
export const missingToolsNotice = (): string | null => {
  if (process.env.CI === "true") return null
  const missing = EXTERNAL_TOOLS.filter((t) => problemOf(t) !== null)
  if (missing.length === 0) return null
  return [
    `[skipped] tests that need ${missing.map((t) => t.name).join(", ")}: not installed or not running here.`,
    ...missing.map((t) => `  ${t.name}: ${problemOf(t)}`),
    `  To run them: apt-get install ${missing.map((t) => t.debianPackage).join(" ")}${missing.includes(SLURM) ? ", then .ci/slurm-up (as root)" : ""} (CI=true makes them required; .ci/run installs and starts them).`
  ].join("\n")
}
