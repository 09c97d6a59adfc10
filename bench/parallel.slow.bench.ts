/**
 * `npm run -s bench -- parallel`: the demo pipeline run start to finish with one worker (the rstn
 * process itself) and with two worker processes, alternately, several times; prints the wall
 * times, their medians and ratio, the machine's load around each run, and whether every run's
 * summary.json and cases.json are the same apart from timing fields (issue 11: on a 2-core
 * machine the parallel run should take at most 0.6x the serial one, with identical results).
 *
 * Only a quiet machine can show that: Linux shares the CPU between sessions (autogroups), not
 * processes, so while other sessions keep the cores busy a second worker gets no more CPU than
 * one. Each sample therefore also reports the CPU time rstn used and how many cores other work
 * kept busy during it (from /proc/stat).
 *
 * The demo's training is shortened (BENCH_SCALE, default 0.25 of its iterations) so a round of
 * runs takes minutes, not a quarter of an hour; the graph (3 views x 3 phases, 36 coarse and 12
 * test nodes) is the demo's. BENCH_REPS (default 3) sets the repetitions, BENCH_WORKERS (default
 * "1,2") the worker counts. Runs go to a temporary directory; the phantom data is the demo's own
 * (data/phantom-demo, generated on first use, before timing starts).
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { resultText } from "../test/runtime/pipeline/child-run.ts"

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const bin = path.join(repo, "bin", "rstn.js")
const demo = path.join(repo, "pipelines", "demo.yaml")
const scale = Number(process.env.BENCH_SCALE ?? "0.25")
const reps = Number(process.env.BENCH_REPS ?? "3")
const workerCounts = (process.env.BENCH_WORKERS ?? "1,2").split(",").map(Number)

// The demo's phases, scaled: S 200, I 600, J 800 iterations with its learning-rate step every 200.
const iterations = (n: number) => Math.max(1, Math.round(n * scale))
const shorten = [
  `training.phases[0].iterations=${iterations(200)}`,
  `training.phases[1].iterations=${iterations(600)}`,
  `training.phases[2].iterations=${iterations(800)}`,
  `training.phases[2].schedule.every=${iterations(200)}`
].flatMap((s) => ["--set", s])

const root = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-bench-parallel-"))

/** Clock ticks per second of /proc's CPU times (Linux's USER_HZ). */
const HZ = 100

/** Busy CPU time of the whole machine so far, in seconds (/proc/stat: all but idle and iowait). */
const machineBusy = (): number => {
  const [, user, nice, system, , , irq, softirq, steal] = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number)
  return (user! + nice! + system! + irq! + softirq! + steal!) / HZ
}

/**
 * Runs rstn to the end; also returns the CPU time it and its workers used, read from the shell
 * that waited for them (/proc/self/stat cutime + cstime), so the machine's other load during the
 * run can be told apart from ours.
 */
const rstn = (args: ReadonlyArray<string>) => {
  const r = spawnSync("sh", ["-c", `"$0" "$@"; s=$?; echo; echo "@@stat $(cat /proc/$$/stat)"; exit $s`, process.execPath, bin, ...args], {
    cwd: repo,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: "1" }
  })
  if (r.status !== 0) throw new Error(`rstn ${args.join(" ")} failed (${r.status}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`)
  const stat = r.stdout.split("\n").find((l) => l.startsWith("@@stat "))!.slice("@@stat ".length)
  // Fields after the command name (which is in parentheses): cutime and cstime are the 16th and 17th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  const cpuSeconds = (Number(fields[13]) + Number(fields[14])) / HZ
  return { ...r, cpuSeconds }
}

/** The result files without their wall-time fields, as the kill/resume tests compare them. */
const results = (dir: string) => Object.fromEntries(["summary.json", "cases.json"].map((f) => [f, resultText(dir, f)]))
const bytes = (dir: string) => fs.readFileSync(path.join(dir, "summary.json"), "utf8")

/**
 * What computed the nodes: the driver's backend for one worker, else the first worker's (its log
 * says, e.g. "wasm (SIMD, 1 thread)"). Absent run.threads, the thread count follows the load.
 */
const engineOf = (dir: string, workers: number): string => {
  if (workers > 1) {
    const log = fs.readFileSync(path.join(dir, "logs", "worker-w1.log"), "utf8")
    return /rstn node-run: (.*) for /.exec(log)?.[1] ?? "?"
  }
  const started = JSON.parse(fs.readFileSync(path.join(dir, "events.jsonl"), "utf8").split("\n")[0]!) as { backendReason: string }
  return started.backendReason.split("; ").at(-1)!.replace(/^using /, "")
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

// The demo's phantoms (its dataset.source), written before any timing starts.
rstn(["phantom", path.join(repo, "data", "phantom-demo"), "--cases", "24", "--seed", "7", "--size", "small"])

interface Sample {
  readonly workers: number
  readonly rep: number
  readonly wallMs: number
  /** CPU seconds of rstn and its workers. */
  readonly cpuSeconds: number
  /** Cores busy with other work during the run, on average (the machine's busy time minus ours, over the wall time). */
  readonly otherCores: number
  readonly loadBefore: number
  readonly loadAfter: number
  readonly engine: string
}
const samples: Sample[] = []
let reference: { summary: string; text: Record<string, string> } | undefined
let identical = true
let bytesIdentical = true
for (let rep = 1; rep <= reps; rep++) {
  // Alternate the order so a drift in the machine's load does not favour one count.
  const order = rep % 2 === 1 ? workerCounts : [...workerCounts].reverse()
  for (const workers of order) {
    const dir = path.join(root, `w${workers}-r${rep}`)
    const loadBefore = os.loadavg()[0]!
    const busyBefore = machineBusy()
    const t = performance.now()
    const { cpuSeconds } = rstn(["run", demo, "--no-tui", "--run-dir", dir, ...shorten, "--set", `run.executor.workers=${workers}`])
    const wallMs = performance.now() - t
    const otherCores = Math.max(0, (machineBusy() - busyBefore - cpuSeconds) / (wallMs / 1000))
    const loadAfter = os.loadavg()[0]!
    samples.push({
      workers,
      rep,
      wallMs: Math.round(wallMs),
      cpuSeconds: +cpuSeconds.toFixed(1),
      otherCores: +otherCores.toFixed(2),
      loadBefore: +loadBefore.toFixed(2),
      loadAfter: +loadAfter.toFixed(2),
      engine: engineOf(dir, workers)
    })
    process.stderr.write(
      `parallel: ${workers} worker(s), rep ${rep}: ${(wallMs / 1000).toFixed(1)} s, ${cpuSeconds.toFixed(0)} CPU s, other work ${otherCores.toFixed(2)} cores (load ${loadBefore.toFixed(2)} -> ${loadAfter.toFixed(2)}), ${samples.at(-1)!.engine}\n`
    )
    const text = results(dir)
    if (reference === undefined) reference = { summary: bytes(dir), text }
    else {
      if (JSON.stringify(text) !== JSON.stringify(reference.text)) identical = false
      if (bytes(dir) !== reference.summary) bytesIdentical = false
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
fs.rmSync(root, { recursive: true, force: true })

const medians = Object.fromEntries(workerCounts.map((w) => [w, median(samples.filter((s) => s.workers === w).map((s) => s.wallMs))]))
const serial = medians[workerCounts[0]!]!
process.stdout.write(
  `${JSON.stringify({
    pipeline: "pipelines/demo.yaml",
    shortened: shorten.filter((s) => s !== "--set"),
    cpus: os.availableParallelism(),
    reps,
    medianWallMs: medians,
    ratioToFirst: Object.fromEntries(workerCounts.map((w) => [w, +(medians[w]! / serial).toFixed(3)])),
    resultsIdenticalApartFromTimes: identical,
    summaryJsonByteIdentical: bytesIdentical,
    samples
  })}\n`
)
