/**
 * Start-up of the installed command, as CI jobs and editors pay it on every call: wall time of
 * a fresh `node bin/rstn.js --help` and `rstn validate pipelines/demo.yaml` (targets: 0.3 s and
 * 0.5 s on the project's 2-core machine; issue 12), with `node -e 0` as the floor any Node
 * command pays. Each is run RUNS times in turn; medians and the spread are reported, with the
 * load average, since these machines share their cores with training runs.
 *
 * `npm run -s bench -- startup`; it builds dist/ first (scripts/build.ts).
 */
import { spawnSync } from "node:child_process"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "../scripts/build.ts"

const RUNS = 15
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const bin = path.join(root, "bin/rstn.js")

await build()

const cases = {
  "node -e 0": ["-e", "0"],
  "rstn --help": [bin, "--help"],
  "rstn --version": [bin, "--version"],
  "rstn validate demo.yaml": [bin, "validate", path.join(root, "pipelines/demo.yaml")],
  "rstn validate all pipelines": [bin, "validate", ...["demo", "rstn-best", "oracle-weak", "stage-wise"].map((n) => path.join(root, `pipelines/${n}.yaml`))]
} as const

const timeOnce = (args: ReadonlyArray<string>): number => {
  const t = performance.now()
  const r = spawnSync(process.execPath, args, { cwd: os.tmpdir(), encoding: "utf8" })
  const ms = performance.now() - t
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`)
  return ms
}

const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}

const samples = new Map<string, number[]>(Object.keys(cases).map((k) => [k, []]))
const loadBefore = os.loadavg()[0]!
// Interleaved, so a burst of load from the machine's other work spreads over every case.
for (let i = 0; i < RUNS; i++) for (const [name, args] of Object.entries(cases)) samples.get(name)!.push(timeOnce(args))
const round = (ms: number): number => Math.round(ms)

process.stdout.write(
  JSON.stringify({
    runs: RUNS,
    loadAverage1m: { before: Math.round(loadBefore * 100) / 100, after: Math.round(os.loadavg()[0]! * 100) / 100 },
    targetsMs: { "rstn --help": 300, "rstn validate demo.yaml": 500 },
    medianMs: Object.fromEntries([...samples].map(([k, v]) => [k, round(quantile(v, 0.5))])),
    minMs: Object.fromEntries([...samples].map(([k, v]) => [k, round(Math.min(...v))])),
    p90Ms: Object.fromEntries([...samples].map(([k, v]) => [k, round(quantile(v, 0.9))]))
  }) + "\n"
)
