/**
 * A resolved pipeline as YAML (`rstn config`): every default filled in, shorthands and paths
 * resolved, kebab-case keys; the output is itself a valid pipeline file. With `origins`, each
 * value carries a comment saying which file and line (or flag) set it, or that it is a default.
 */
import * as Schema from "effect/Schema"
import { Document, isMap, isScalar, isSeq, type Node as YamlNode } from "yaml"
import type { ResolvedPipeline } from "./load.ts"
import { Pipeline } from "./pipeline.ts"
import type { Path } from "./tree.ts"

export interface PrintOptions {
  /** Comment every value with where it came from. */
  readonly origins?: boolean
}

const describeOrigin = (r: ResolvedPipeline, path: Path): string => {
  const o = r.origin(path)
  return o === undefined ? " default" : o.file.startsWith("--set ") ? ` ${o.file}` : ` ${o.file}:${o.line}`
}

/** Lists of scalars print on one line ([-100, 240]); everything else in block style. */
const style = (node: YamlNode | null, r: ResolvedPipeline, path: Path, origins: boolean): void => {
  if (isSeq(node)) {
    if (node.items.every((i) => isScalar(i))) {
      node.flow = true
      return
    }
    node.items.forEach((item, i) => style(item as YamlNode, r, [...path, i], origins))
  } else if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
      const value = pair.value as YamlNode | null
      const here = [...path, key]
      style(value, r, here, origins)
      if (origins && (isScalar(value) || (isSeq(value) && value.flow === true))) value.comment = describeOrigin(r, here)
    }
  }
}

export const pipelineYaml = (r: ResolvedPipeline, options: PrintOptions = {}): string => {
  const encoded = Schema.encodeSync(Pipeline)(r.pipeline)
  const doc = new Document(encoded, { version: "1.2" })
  style(doc.contents as YamlNode, r, [], options.origins === true)
  const from = [r.files.join(" <- "), ...r.overrides.map((o) => `--set ${o}`)].join(", ")
  doc.commentBefore = ` Resolved pipeline from ${from}\n Every default is filled in and every path is absolute; this file is itself a valid pipeline.`
  return doc.toString({ lineWidth: 0 })
}
