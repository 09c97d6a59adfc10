/**
 * The terminal UI as the rest of rstn sees it. Import this module, not the `.tsx` files: its
 * first import selects React's production build before anything loads React. Ink and React take
 * most of a second to load, so import it lazily (`await import(...)`) when a screen is needed.
 */
import "./react-production.ts"
export { mountRunUi, renderSnapshot, type MountRunUiOptions, type RunUi, type SnapshotOptions } from "./mount-run-ui.tsx"
export type { EventSource, Subscribe } from "./event-source.ts"
export type { SourceStopped, UiEvent } from "./ui-event.ts"
export { reduce, reduceAll } from "./reduce.ts"
export { initialViewState, type ViewState } from "./view-state.ts"
