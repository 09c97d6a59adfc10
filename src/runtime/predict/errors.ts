/**
 * The errors of `rstn predict` and `rstn export`. Each names a file (a scan, the model, the output
 * directory, a `--set` flag), what is wrong with it and the fix, and renders as `file: reason`.
 */
import { fileProblem } from "../file-problem.ts"

/** The model file cannot be used: not one, damaged, or of another version. */
export class ModelFileError extends fileProblem("ModelFileError") {}

/** The run directory or model file cannot give what prediction needs. */
export class TrainedModelError extends fileProblem("TrainedModelError") {}

/** The prediction as a whole cannot start: the model's test needs labels, a fold is not trained, a bad --set. */
export class PredictError extends fileProblem("PredictError") {}

/** One scan cannot be predicted; the others go on. */
export class PredictInputError extends fileProblem("PredictInputError") {}
