/**
 * What `rstn predict` tells its observer as it goes: the terminal UI on a terminal, plain lines
 * otherwise (`predictLine`). One union, so both views show the same things.
 */

export type PredictEvent =
  | {
      readonly _tag: "predict-started"
      readonly model: string
      readonly folds: ReadonlyArray<number>
      readonly views: ReadonlyArray<string>
      readonly backend: string
      readonly cases: number
      /** Inputs that gave no case (an empty directory, a missing path), already reported. */
      readonly inputErrors: number
      readonly outDir: string
    }
  | { readonly _tag: "case-started"; readonly id: string; readonly file: string; readonly index: number }
  | { readonly _tag: "case-coarse"; readonly id: string; readonly ms: number }
  | { readonly _tag: "case-round"; readonly id: string; readonly round: number; readonly interDsc: number | null; readonly ms: number }
  | {
      readonly _tag: "case-finished"
      readonly id: string
      readonly file: string
      readonly rounds: number
      readonly reached: boolean
      readonly ms: number
      /** Axis codes the scan was read from, when it was reoriented to the training data's. */
      readonly reoriented: string | null
    }
  | { readonly _tag: "case-skipped"; readonly id: string; readonly file: string }
  /** `id` is null for an input that gave no case (an empty directory). */
  | { readonly _tag: "case-failed"; readonly id: string | null; readonly file: string; readonly message: string }
  | {
      readonly _tag: "predict-finished"
      readonly done: number
      readonly skipped: number
      readonly failed: number
      readonly ms: number
      /** Stopped by Ctrl-C or SIGTERM: the same command continues. */
      readonly interrupted: boolean
    }

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

/** The event as one line of plain text (no line for round-by-round progress the summary repeats). */
export const predictLine = (e: PredictEvent): string | null => {
  switch (e._tag) {
    case "predict-started":
      return `predict: ${e.cases} case(s) with ${e.model} (fold${e.folds.length > 1 ? "s" : ""} ${e.folds.join(", ")}, views ${e.views.join("")}, ${e.backend}) -> ${e.outDir}`
    case "case-started":
      return null
    case "case-coarse":
      return `  ${e.id}: coarse ${seconds(e.ms)}`
    case "case-round":
      return e.round === 0 ? null : `  ${e.id}: round ${e.round} ${seconds(e.ms)}, inter-iteration DSC ${e.interDsc?.toFixed(4) ?? "-"}`
    case "case-finished":
      return `${e.id}: ${e.file} (${e.rounds} round${e.rounds === 1 ? "" : "s"}, ${e.reached ? "reached t" : "t not reached"}, ${seconds(e.ms)}${e.reoriented ? `, reoriented from ${e.reoriented}` : ""})`
    case "case-skipped":
      return `${e.id}: ${e.file} exists, skipped (--force predicts it again)`
    case "case-failed":
      return `${e.id ?? "input"}: failed: ${e.message}`
    case "predict-finished":
      return `predict: ${e.interrupted ? "interrupted after " : ""}${e.done} predicted, ${e.skipped} skipped, ${e.failed} failed in ${seconds(e.ms)}${
        e.interrupted ? "; the same command continues (finished cases are skipped)" : ""
      }`
  }
}
