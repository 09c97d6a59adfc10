// The script each wasm pthread (a Node worker thread) runs; see wasm-threads.ts for why it exists.
// tfjs-backend-wasm ships the pthread worker's code as a string export (made for a browser Blob
// URL), not as a script Node's Worker can load; evaluating it here makes it one. Escaping "\n" as
// tfjs itself does: the string holds the worker's "\n" escapes as real newlines, which would end
// its string literals.
"use strict"
const { wasmWorkerContents } = require("@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js")
eval(wasmWorkerContents.replace(/\n/g, "\\n"))
