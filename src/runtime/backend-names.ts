/**
 * The names of the tensor backends, in the order "auto" tries them. Kept apart from
 * `backend.ts` (which loads TensorFlow.js) so the pipeline schema and `rstn --help` can name
 * them without paying for tfjs.
 */
export const backendNames = ["node-gpu", "node", "wasm", "cpu"] as const
/** A concrete backend, in the order "auto" tries them. */
export type BackendName = (typeof backendNames)[number]
export type BackendChoice = "auto" | BackendName
export const backendChoices: ReadonlyArray<BackendChoice> = ["auto", ...backendNames]
