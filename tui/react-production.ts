/**
 * Imported before Ink and React: selects React's production build, unless the environment chose
 * one. The development build checks every element and is about twice as slow per frame, which a
 * CLI pays for on every redraw (bench/tui.bench.ts). Test runners set NODE_ENV and keep theirs.
 */
process.env.NODE_ENV ??= "production"
