#!/usr/bin/env node
// Runs the bundled JavaScript in dist/ (`npm run build`; `npm ci` and `npm pack` build it
// through the prepare script), so the installed command needs no TypeScript tooling.

// A reader that stops early (`rstn schema | head`) closes the pipe: stop quietly, as other
// command-line tools do, instead of crashing on the failed write.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e.code !== "EPIPE") throw e
    process.exit(process.exitCode ?? 0)
  })
}

let main
try {
  ;({ main } = await import("../dist/rstn.js"))
} catch (e) {
  if (e?.code !== "ERR_MODULE_NOT_FOUND" || !String(e.message).includes("dist/rstn.js")) throw e
  process.stderr.write("rstn: the compiled code (dist/) is missing; run `npm run build` in the rstn checkout (npm ci does)\n")
  process.exit(1)
}
// exitCode, not exit(): pending stdout writes drain first.
process.exitCode = await main(process.argv.slice(2))
