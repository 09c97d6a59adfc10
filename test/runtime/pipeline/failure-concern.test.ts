/**
 * How a failed node's error event gets its case and file: from the failing error's own fields,
 * else from the node id (the compiler's `test/CASE`, `coarse/CASE/V`), else from the dataset file
 * the error names; and which failures stop a run whatever `on-case-error` says.
 */
import { Cause } from "effect"
import { describe, expect, it } from "vitest"
import { NiftiError } from "../../../src/ops/nifti/index.ts"
import { CaseDataError } from "../../../src/runtime/case-store.ts"
import { coarseId, evaluateId, testId, trainId } from "../../../src/runtime/compile.ts"
import { failureConcern, stopsRun } from "../../../src/runtime/executor.ts"
import { FileSystemError } from "../../../src/runtime/file-system.ts"
import type { PipelineDataset } from "../../../src/runtime/pipeline-dataset.ts"
import { caseOfFailure, caseOfNode } from "../../../src/runtime/failure-case.ts"

const dataset: PipelineDataset = {
  root: "/data",
  runFolds: [0],
  cases: ["case_000", "case_001"].map((id, index) => ({
    id,
    index,
    fold: index,
    fingerprint: "",
    image: `/data/imagesTr/${id}.nii.gz`,
    label: `/data/labelsTr/${id}.nii.gz`
  }))
}

describe("the case and file of a failure", () => {
  it("reads caseId and file from the failing tagged error", () => {
    const nifti = new NiftiError({ file: "/a.nii.gz", field: "file", reason: "no such file", hint: "" })
    expect(failureConcern(Cause.fail(nifti))).toEqual({ file: "/a.nii.gz" })
    const data = new CaseDataError({ caseId: "case_007", file: "/b.nii.gz", reason: "NaN", hint: "" })
    expect(failureConcern(Cause.fail(data))).toEqual({ caseId: "case_007", file: "/b.nii.gz" })
    expect(failureConcern(Cause.die(new Error("bug")))).toEqual({})
  })

  it("maps the compiler's test and coarse node ids to their case, and nothing else", () => {
    expect(caseOfNode(testId("case_003"))).toBe("case_003")
    expect(caseOfNode(coarseId("case_003", "Y"))).toBe("case_003")
    expect(caseOfNode(trainId(0, "Z", "J"))).toBeUndefined()
    expect(caseOfNode(evaluateId(1))).toBeUndefined()
    expect(caseOfNode("report")).toBeUndefined()
  })

  it("prefers the error's case, then the node's, then the case whose file failed", () => {
    const caseOf = caseOfFailure(dataset)
    expect(caseOf(testId("case_000"), { caseId: "case_001" })).toBe("case_001")
    expect(caseOf(coarseId("case_000", "Z"), { file: "/elsewhere.nii.gz" })).toBe("case_000")
    // A training node reads many cases: the file tells which one failed.
    expect(caseOf(trainId(0, "Z", "S"), { file: "/data/labelsTr/case_001.nii.gz" })).toBe("case_001")
    expect(caseOf(trainId(0, "Z", "S"), { file: "/weights.ckpt" })).toBeUndefined()
    expect(caseOf(trainId(0, "Z", "S"), {})).toBeUndefined()
  })
})

describe("failures that stop the run whatever on-case-error says", () => {
  const fsError = (reason: string) => Cause.fail(new FileSystemError({ file: "/run/x", op: "write", reason }))
  it("stops on a full or read-only disk, not on a case's own failure", () => {
    expect(stopsRun(fsError("ENOSPC"))).toBe(true)
    expect(stopsRun(fsError("EDQUOT"))).toBe(true)
    expect(stopsRun(fsError("EROFS"))).toBe(true)
    expect(stopsRun(fsError("EACCES"))).toBe(false)
    expect(stopsRun(Cause.fail(new NiftiError({ file: "/a", field: "file", reason: "ENOSPC", hint: "" })))).toBe(false)
    expect(stopsRun(Cause.die(new Error("ENOSPC")))).toBe(false)
  })
})
