/**
 * `npm run bench [-- NAME...]`: runs every `bench/*.bench.ts` in its own Node process (so peak
 * RSS and tensor backends do not leak between benchmarks) and prints one JSON document with the
 * machine it ran on and each benchmark's own JSON output.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const dir = path.dirname(fileURLToPath(import.meta.url))
const only = process.argv.slice(2)
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  // `*.slow.bench.ts` run in real time for minutes: only when asked for by name.
  .filter((f) => (only.length === 0 ? !f.endsWith(".slow.bench.ts") : only.some((o) => f.startsWith(o))))
  .sort()

const results: Record<string, unknown> = {}
let failed = false
for (const file of files) {
  const name = file.replace(/(\.slow)?\.bench\.ts$/, "")
  process.stderr.write(`bench ${name}...\n`)
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(dir, file)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024
  })
  try {
    results[name] = JSON.parse(r.stdout)
    if (r.status !== 0) throw new Error(`exit ${r.status}`)
  } catch (e) {
    failed = true
    results[name] = { error: `benchmark failed (${String(e)})`, status: r.status, stdout: r.stdout.slice(-2000) }
  }
}

const machine = {
  node: process.version,
  platform: `${os.platform()} ${os.arch()}`,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round(os.totalmem() / 2 ** 30)
}
process.stdout.write(JSON.stringify({ machine, at: new Date().toISOString(), results }, null, 2) + "\n")
process.exitCode = failed ? 1 : 0
