/**
 * The real CLI in a pseudo-terminal: a private tmux server (its own socket, no user config) runs
 * one command in a window of a chosen size; tests read the screen and its scrollback and type
 * keys. Without tmux the tests that need it are skipped with a notice, and fail under CI=true
 * (test/support/external-tool.ts).
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { requireTool, TMUX } from "../support/external-tool.ts"

export const BIN = fileURLToPath(new URL("../../bin/rstn.js", import.meta.url))
export const ROOT = path.dirname(path.dirname(BIN))

/** Printed by the shell after the command: `rstn-exit=<code>`. */
export const EXIT_MARK = "rstn-exit="

export { TMUX }

export const requireTmux = (): void => requireTool(TMUX)

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

export interface Tmux {
  /** The visible screen, one string per row (trailing blanks kept off). */
  readonly screen: () => string
  /** Everything the window has shown, scrollback included. */
  readonly history: () => string
  /** Polls the screen (or the whole history) until `test` holds; throws with the screen if it never does. */
  readonly waitFor: (test: string | ((text: string) => boolean), opts?: { ms?: number; history?: boolean }) => Promise<string>
  /** Types keys (tmux key names or literal text). */
  readonly keys: (...keys: string[]) => void
  /** The command's exit code, once it has ended (waits for it). */
  readonly exitCode: (ms?: number) => Promise<number>
  readonly kill: () => void
}

let sessions = 0

/**
 * Starts `rstn ARGS...` from the repository root in a `columns` x `rows` terminal. Ink believes
 * it runs in CI (and draws only a final frame) when CI is set, and NODE_ENV from the test runner
 * would select React's slower development build: both are unset, as in a user's shell.
 */
export const startRstn = (args: ReadonlyArray<string>, size: { columns: number; rows: number }): Tmux => {
  requireTmux()
  const socket = `rstn-test-${process.pid}-${++sessions}`
  const tmux = (...a: string[]) => execFileSync("tmux", ["-L", socket, "-f", "/dev/null", ...a], { encoding: "utf8" })
  const command =
    `cd ${quote(ROOT)} && env -u CI -u CONTINUOUS_INTEGRATION -u NODE_ENV ${quote(process.execPath)} bin/rstn.js ${args.map(quote).join(" ")}; ` +
    `echo ${EXIT_MARK}$?; sleep 600`
  tmux("new-session", "-d", "-s", "w", "-x", String(size.columns), "-y", String(size.rows), command)
  // The server leaves its socket file behind when killed: remove it too.
  const socketPath = tmux("display-message", "-p", "#{socket_path}").trim()
  const trim = (s: string) => s.replace(/[ \t]+$/gm, "").replace(/\n+$/, "")
  const screen = () => trim(tmux("capture-pane", "-p", "-t", "w"))
  const history = () => trim(tmux("capture-pane", "-p", "-t", "w", "-S", "-", "-E", "-"))
  const waitFor: Tmux["waitFor"] = async (test, opts = {}) => {
    const until = Date.now() + (opts.ms ?? 60_000)
    const holds = typeof test === "string" ? (t: string) => t.includes(test) : test
    for (;;) {
      const text = opts.history ? history() : screen()
      if (holds(text)) return text
      if (Date.now() > until) throw new Error(`the terminal never showed ${typeof test === "string" ? test : "what was awaited"}:\n${text}`)
      await new Promise((r) => setTimeout(r, 150))
    }
  }
  return {
    screen,
    history,
    waitFor,
    keys: (...keys) => void tmux("send-keys", "-t", "w", ...keys),
    exitCode: async (ms = 240_000) => {
      const text = await waitFor((t) => t.includes(EXIT_MARK), { ms, history: true })
      return Number(new RegExp(`${EXIT_MARK}(\\d+)`).exec(text)![1])
    },
    kill: () => {
      try {
        tmux("kill-server")
      } catch {
        // already gone
      }
      fs.rmSync(socketPath, { force: true })
    }
  }
}
