/** A terminal for measuring the UI: counts what Ink writes (100x30, a TTY) and never gives input. */
import { EventEmitter } from "node:events"

export class Terminal extends EventEmitter {
  readonly isTTY = true
  readonly columns = 100
  readonly rows = 30
  writes = 0
  bytes = 0
  write = (s: string): boolean => {
    this.writes++
    this.bytes += s.length
    return true
  }
}

export class NoInput extends EventEmitter {
  readonly isTTY = false
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
  read(): null {
    return null
  }
}
