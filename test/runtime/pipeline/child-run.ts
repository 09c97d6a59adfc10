/**
 * `rstn` as a child process, for tests that kill it: start a command, poll its run directory
 * until something has happened (never a fixed sleep), send a signal, and read what the run left
 * behind — the events of each run segment, manifests, checkpoints, the published results.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { eventsFile, parseEventLog } from "../../../src/runtime/event-log.ts"
import type { RunEvent } from "../../../src/runtime/events.ts"

const repo = fileURLToPath(new URL("../../../", import.meta.url))
const bin = path.join(repo, "bin", "rstn.js")

export interface Child {
  readonly process: ChildProcess
  /** Everything written so far to stdout and stderr. */
  readonly output: () => string
  /** Resolves when the process has exited: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly hasExited: () => boolean
}

/** `detached`: the child leads its own process group, as a command started from a shell does (signal it with `process.kill(-pid)`). */
export const startRstn = (args: ReadonlyArray<string>, options: { readonly detached?: boolean } = {}): Child => {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: repo,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
    detached: options.detached === true
  })
  let out = ""
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d))
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (out += d))
  let done = false
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      done = true
      resolve({ code, signal })
    })
  )
  return { process: child, output: () => out, exited, hasExited: () => done }
}

/** Runs `rstn ARGS` to the end. */
export const runRstn = async (args: ReadonlyArray<string>) => {
  const child = startRstn(args)
  const { code, signal } = await child.exited
  return { code, signal, output: child.output() }
}

/**
 * Polls `probe` every few milliseconds until it returns a value. Fails when `child` exits first
 * (with its output, so a broken run explains itself) or after `timeoutMs`.
 */
export const waitFor = async <A>(what: string, probe: () => A | undefined, options: { readonly child?: Child; readonly timeoutMs?: number } = {}): Promise<A> => {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  for (;;) {
    const found = probe()
    if (found !== undefined) return found
    if (options.child?.hasExited()) throw new Error(`the run ended before ${what}:\n${options.child.output()}`)
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${options.child ? `:\n${options.child.output()}` : ""}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/**
 * `read(file)`, or undefined when the file is gone: a probe may look at a checkpoint just as the
 * node finishes and removes it.
 */
export const readIfThere = <A>(file: string, read: (file: string) => A): A | undefined => {
  try {
    return read(file)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw e
  }
}

/** The events of a run directory, split into run segments (a start or a resume each). */
export const runSegments = (runDir: string): RunEvent[][] => {
  const file = eventsFile(runDir)
  if (!fs.existsSync(file)) return []
  const segments: RunEvent[][] = []
  for (const e of parseEventLog(fs.readFileSync(file, "utf8")).events) {
    if (e._tag === "run-started") segments.push([])
    segments.at(-1)?.push(e)
  }
  return segments
}

export const keyOf = (segment: ReadonlyArray<RunEvent>, id: string): string => {
  const started = segment[0]
  if (started?._tag !== "run-started") throw new Error("a segment starts with run-started")
  const node = started.nodes.find((n) => n.id === id)
  if (node === undefined) throw new Error(`no node ${id} in the run`)
  return node.key
}

/** Keys of the nodes a segment found finished (done, or cached). */
export const finishedKeys = (segment: ReadonlyArray<RunEvent>): Set<string> =>
  new Set(segment.flatMap((e) => (e._tag === "node-finished" && (e.status === "done" || e.status === "cached") ? [e.key] : [])))

export const startedKeys = (segment: ReadonlyArray<RunEvent>): Set<string> =>
  new Set(segment.flatMap((e) => (e._tag === "node-started" ? [e.key] : [])))

/** The checkpoint a node keeps under its current key, if one exists (`<id>/<16 hex>/checkpoint.bin`). */
export const checkpointOf = (runDir: string, id: string, key: string): string | undefined => {
  const file = path.join(runDir, "nodes", ...id.split("/"), key.slice(0, 16), "checkpoint.bin")
  return fs.existsSync(file) ? file : undefined
}

export const manifestOf = (runDir: string, id: string): { key: string; outputs: { json: Record<string, unknown> } } | undefined => {
  const file = path.join(runDir, "nodes", ...id.split("/"), "node.json")
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : undefined
}

/** Wall-time fields, which differ between any two runs. */
const TIMING = new Set(["ms", "coarseMs", "durationMs"])

const stripTiming = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(stripTiming)
    : typeof v === "object" && v !== null
      ? Object.fromEntries(Object.entries(v).filter(([k]) => !TIMING.has(k)).map(([k, x]) => [k, stripTiming(x)]))
      : v

/**
 * A published result file without its timing fields, as JSON text: two runs that computed the
 * same thing give the same text (JSON numbers print every bit of a double).
 */
export const resultText = (runDir: string, name: string): string =>
  JSON.stringify(stripTiming(JSON.parse(fs.readFileSync(path.join(runDir, name), "utf8"))), null, 1)

/** Every file under `dir` whose name matches. */
export const filesMatching = (dir: string, pattern: RegExp): string[] =>
  (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((d) => d.isFile() && pattern.test(d.name))
    .map((d) => path.join(d.parentPath, d.name))
