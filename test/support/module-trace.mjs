// Preloaded with `node --import` by the start-up tests: appends the URL of every module the
// process resolves to the file named by RSTN_MODULE_TRACE, so a test can tell which libraries a
// command loaded. Plain JavaScript: it runs before (and without) any TypeScript loader.
import { register } from "node:module"

const hooks = `
import { appendFileSync } from "node:fs"
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  appendFileSync(process.env.RSTN_MODULE_TRACE, resolved.url + "\\n")
  return resolved
}
`
register(`data:text/javascript,${encodeURIComponent(hooks)}`)
