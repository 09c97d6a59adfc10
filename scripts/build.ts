/**
 * Builds what `bin/rstn.js` runs: the CLI bundled by esbuild into dist/, one ES module for the
 * entry (`dist/rstn.js`) and a chunk per command, loaded when the command runs.
 *
 * Why a bundle: start-up is part of the interface (issue 12: a cold `rstn validate` within 0.5 s,
 * `rstn --help` within 0.3 s). Compiled file by file, validate resolved and read about 1,700
 * modules (Effect's Schema and the fast-check it imports), which took most of its time; as a few
 * bundled chunks it reads a handful of files. Effect and yaml are bundled, since the light
 * commands need them; TensorFlow.js, Ink and React stay external packages, imported only by the
 * chunks of the commands that use them (`splitting` turns each `import()` of a command into its
 * own chunk), so `--help` and `validate` never load them.
 *
 * `tsx scripts/build.ts` (`npm run build`, which `prepare` runs on `npm ci` and `npm pack`);
 * the typecheck is `tsc --noEmit -p .`, separately.
 */
import * as esbuild from "esbuild"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const dist = path.join(root, "dist")

/** Packages bundled into dist/: what validate, config and schema load. */
const BUNDLED = new Set(["effect", "yaml"])

/** Every other dependency stays a package import, resolved in node_modules at run time. */
const external = (): ReadonlyArray<string> => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>
  const names = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})].filter((n) => !BUNDLED.has(n))
  return names.flatMap((n) => [n, `${n}/*`])
}

export const build = async (): Promise<void> => {
  fs.rmSync(dist, { recursive: true, force: true })
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: { rstn: "src/cli/main.ts" },
    outdir: dist,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20.10",
    external: [...external()],
    // yaml is CommonJS and requires Node's built-ins ('process', 'buffer'); in an ES module
    // bundle esbuild's require shim needs a real `require` to hand them to.
    banner: { js: 'import { createRequire as __rstnCreateRequire } from "node:module";\nconst require = __rstnCreateRequire(import.meta.url);' },
    // Scope hoisting renames clashing classes; error classes keep the names users and tests see.
    keepNames: true,
    logLevel: "warning"
  })
  // Threaded wasm starts its workers from this script, found next to the code that loads it
  // (src/runtime/wasm-threads.ts); in the bundle that code is in a chunk in dist/.
  fs.copyFileSync(path.join(root, "src/runtime/wasm-pthread-worker.cjs"), path.join(dist, "wasm-pthread-worker.cjs"))
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await build()
