/** Every `rstn` command, in the order `rstn --help` lists them: the order a user meets them. */
import type { Command } from "../command.ts"
import * as Specs from "../specs.ts"

export const commands: ReadonlyArray<Command> = [
  { spec: Specs.runSpec, load: async () => (await import("./run.ts")).run },
  { spec: Specs.resumeSpec, load: async () => (await import("./resume.ts")).run },
  { spec: Specs.statusSpec, load: async () => (await import("./status.ts")).run },
  { spec: Specs.watchSpec, load: async () => (await import("./watch.ts")).run },
  { spec: Specs.reportSpec, load: async () => (await import("./report.ts")).run },
  { spec: Specs.sweepSpec, load: async () => (await import("./sweep.ts")).run },
  { spec: Specs.compareSpec, load: async () => (await import("./compare.ts")).run },
  { spec: Specs.predictSpec, load: async () => (await import("./predict.ts")).run },
  { spec: Specs.exportSpec, load: async () => (await import("./export.ts")).run },
  { spec: Specs.planSpec, load: async () => (await import("./plan-pipeline.ts")).run },
  { spec: Specs.validateSpec, load: async () => (await import("./validate.ts")).run },
  { spec: Specs.configSpec, load: async () => (await import("./config.ts")).run },
  { spec: Specs.schemaSpec, load: async () => (await import("./schema.ts")).run },
  { spec: Specs.phantomSpec, load: async () => (await import("./phantom.ts")).run },
  { spec: Specs.inspectSpec, load: async () => (await import("./inspect.ts")).run },
  { spec: Specs.weightsSpec, load: async () => (await import("./weights.ts")).run },
  { spec: Specs.doctorSpec, load: async () => (await import("./doctor.ts")).run },
  { spec: Specs.nodeRunSpec, load: async () => (await import("./node-run.ts")).run }
]
