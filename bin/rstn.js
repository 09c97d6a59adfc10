#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader, so a checkout needs no build step.
import { register } from "tsx/esm/api"

register()
const { main } = await import("../src/cli/main.ts")
// exitCode, not exit(): pending stdout writes drain first.
process.exitCode = await main(process.argv.slice(2))
