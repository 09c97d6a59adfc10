/**
 * A page opened in headless Chromium (Debian's `chromium`), driven over the DevTools protocol:
 * start the browser on a blank page with a debugging port, attach to the page's WebSocket
 * before loading anything (so no console message or failed load is missed), load the page, run
 * checks in it and take screenshots. Used by the report test; `CHROMIUM` in external-tool.ts says
 * when it can run.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import WebSocket from "ws"

export const CHROMIUM_BINARY = "chromium"

/** What went wrong on the page: console errors, uncaught exceptions, failed loads. */
export interface PageProblem {
  readonly source: string
  readonly text: string
}

export interface OpenedPage {
  /** Evaluates an expression in the page (awaiting a promise) and returns its JSON value. */
  readonly evaluate: <A>(expression: string) => Promise<A>
  /** A PNG of the page `width` pixels wide, down to `height` (the whole page when absent). */
  readonly screenshot: (width: number, height?: number) => Promise<Buffer>
  readonly problems: () => ReadonlyArray<PageProblem>
  readonly close: () => Promise<void>
}

interface CdpMessage {
  readonly id?: number
  readonly method?: string
  readonly params?: Record<string, unknown>
  readonly result?: Record<string, unknown>
  readonly error?: { readonly message: string }
}

const waitForDevTools = (browser: ChildProcess, timeoutMs: number): Promise<string> =>
  new Promise((resolve, reject) => {
    let err = ""
    const timer = setTimeout(() => reject(new Error(`chromium did not open its debugging port within ${timeoutMs} ms:\n${err}`)), timeoutMs)
    browser.stderr!.setEncoding("utf8").on("data", (d: string) => {
      err += d
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    browser.on("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`chromium exited (${code}) before opening its debugging port:\n${err}`))
    })
  })

export const openPage = async (url: string, options: { readonly timeoutMs?: number } = {}): Promise<OpenedPage> => {
  const timeoutMs = options.timeoutMs ?? 30_000
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "rstn-chromium-"))
  const browser = spawn(
    CHROMIUM_BINARY,
    ["--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run", "--remote-debugging-port=0", `--user-data-dir=${profile}`, "about:blank"],
    { stdio: ["ignore", "ignore", "pipe"] }
  )
  const stop = async () => {
    if (browser.exitCode === null && browser.signalCode === null) {
      const exited = new Promise((resolve) => browser.once("exit", resolve))
      browser.kill("SIGTERM")
      await exited
    }
    // chromium may still be flushing its profile just after exit: retry ENOTEMPTY
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
  }
  try {
    const browserWs = await waitForDevTools(browser, timeoutMs)
    const { host } = new URL(browserWs)
    const targets = (await (await fetch(`http://${host}/json/list`)).json()) as Array<{ type: string; webSocketDebuggerUrl: string }>
    const target = targets.find((t) => t.type === "page")
    if (target === undefined) throw new Error(`chromium lists no page: ${JSON.stringify(targets)}`)
    const ws = new WebSocket(target.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 512 * 2 ** 20 })
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve())
      ws.once("error", reject)
    })
    let next = 0
    const pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>()
    const listeners = new Map<string, Array<(params: Record<string, unknown>) => void>>()
    const problems: PageProblem[] = []
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as CdpMessage
      if (msg.id !== undefined) {
        const p = pending.get(msg.id)
        pending.delete(msg.id)
        if (msg.error) p?.reject(new Error(msg.error.message))
        else p?.resolve(msg.result ?? {})
      } else if (msg.method !== undefined) {
        for (const l of listeners.get(msg.method) ?? []) l(msg.params ?? {})
      }
    })
    const send = (method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const id = ++next
        pending.set(id, { resolve, reject })
        ws.send(JSON.stringify({ id, method, params }))
      })
    const on = (method: string, f: (params: Record<string, unknown>) => void) => listeners.set(method, [...(listeners.get(method) ?? []), f])

    on("Runtime.consoleAPICalled", (p) => {
      if (p.type === "error" || p.type === "assert") problems.push({ source: "console", text: JSON.stringify(p.args) })
    })
    on("Runtime.exceptionThrown", (p) => problems.push({ source: "exception", text: JSON.stringify(p.exceptionDetails) }))
    on("Log.entryAdded", (p) => {
      const entry = p.entry as { level: string; text: string; url?: string }
      if (entry.level === "error") problems.push({ source: "log", text: `${entry.text}${entry.url ? ` (${entry.url})` : ""}` })
    })
    on("Network.loadingFailed", (p) => problems.push({ source: "network", text: JSON.stringify(p) }))
    await send("Runtime.enable")
    await send("Log.enable")
    await send("Network.enable")
    await send("Page.enable")
    const loaded = new Promise<void>((resolve) => on("Page.loadEventFired", () => resolve()))
    const nav = await send("Page.navigate", { url })
    if (typeof nav.errorText === "string") throw new Error(`chromium could not open ${url}: ${nav.errorText}`)
    await Promise.race([loaded, new Promise((_, reject) => setTimeout(() => reject(new Error(`${url} did not finish loading within ${timeoutMs} ms`)), timeoutMs))])

    const evaluate = async <A>(expression: string): Promise<A> => {
      const r = (await send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true })) as {
        result: { value: A }
        exceptionDetails?: unknown
      }
      if (r.exceptionDetails !== undefined) throw new Error(`evaluating ${expression}: ${JSON.stringify(r.exceptionDetails)}`)
      return r.result.value
    }
    const screenshot = async (width: number, height?: number): Promise<Buffer> => {
      const full = await evaluate<number>("document.documentElement.scrollHeight")
      const h = Math.min(height ?? full, full)
      await send("Emulation.setDeviceMetricsOverride", { width, height: h, deviceScaleFactor: 1, mobile: false })
      const shot = (await send("Page.captureScreenshot", { format: "png", clip: { x: 0, y: 0, width, height: h, scale: 1 }, captureBeyondViewport: true })) as { data: string }
      return Buffer.from(shot.data, "base64")
    }
    return {
      evaluate,
      screenshot,
      problems: () => [...problems],
      close: async () => {
        ws.close()
        await stop()
      }
    }
  } catch (e) {
    await stop()
    throw e
  }
}
