/**
 * The wasm threads of each process that computes nodes: `run.threads` when the pipeline sets it;
 * otherwise the idle cores, shared among local workers, or a Slurm job's own cpus-per-task. The
 * driver keeps one thread when it only schedules.
 */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Run } from "../../../src/dsl/pipeline.ts"
import { driverThreads, nodeThreads } from "../../../src/runtime/execution/choose.ts"

const run = (input: object) => Schema.decodeUnknownSync(Run)(input)

describe("threads per process", () => {
  it("one local worker (the driver itself) takes every idle core", () => {
    expect(nodeThreads(run({}), "", 2)).toBe(2)
    expect(driverThreads(run({}), 2)).toBe(2)
  })

  it("local workers share the idle cores, at least one thread each; the driver keeps one", () => {
    const two = run({ executor: { workers: 2 } })
    expect(nodeThreads(two, "", 2)).toBe(1)
    expect(nodeThreads(two, "", 4)).toBe(2)
    expect(nodeThreads(run({ executor: { workers: 3 } }), "", 2)).toBe(1)
    expect(driverThreads(two, 4)).toBe(1)
  })

  it("run.threads is what every worker and job gets", () => {
    expect(nodeThreads(run({ threads: 2, executor: { workers: 2 } }), "", 8)).toBe(2)
    expect(nodeThreads(run({ threads: 3, executor: { kind: "slurm", "cpus-per-task": 8 } }), "train", 8)).toBe(3)
  })

  it("a Slurm job uses the CPUs it asks for, per node kind, at most 8", () => {
    const slurm = run({ executor: { kind: "slurm", "cpus-per-task": 2, "per-kind": { train: { "cpus-per-task": 16 } } } })
    expect(nodeThreads(slurm, "test", 8)).toBe(2)
    expect(nodeThreads(slurm, "train", 8)).toBe(8)
    expect(nodeThreads(run({ executor: { kind: "slurm" } }), "train", 8)).toBe(1)
    expect(driverThreads(slurm, 8)).toBe(1)
  })
})
