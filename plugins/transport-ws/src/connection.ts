/**
 * One ws socket as a kernel `Connection`: coalesced writes, backpressure reporting, liveness, and
 * a close that never waits on a peer that has gone quiet (STYLE rule 10).
 */
import type { Connection } from '@echostream/kernel'
import type { WebSocket, RawData } from 'ws'
import { CloseCodes } from '@echostream/kernel'

export interface ConnectionSettings {
  highWaterMark: number
  closeTimeoutMs: number
}

const noop = () => {}

interface RawSocket {
  cork(): void
  uncork(): void
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data
}

export class WsConnection implements Connection {
  onMessage: (bytes: Uint8Array) => void = noop
  onClose: (code: number, reason: string) => void = noop
  readonly peer: string
  readonly highWaterMark: number
  /** Set when we decide why the socket ends (ping timeout, too large), so `close` reports it. */
  closeOverride: { code: number; reason: string } | undefined
  #closed = false
  #corked = false
  #drainWaiters: Array<() => void> = []
  #closeTimer: ReturnType<typeof setTimeout> | undefined
  #settings: ConnectionSettings
  readonly #uncork = (raw: RawSocket): void => {
    this.#corked = false
    raw.uncork()
  }

  constructor(
    readonly socket: WebSocket,
    peer: string,
    settings: ConnectionSettings,
  ) {
    this.peer = peer
    this.highWaterMark = settings.highWaterMark
    this.#settings = settings
    socket.binaryType = 'nodebuffer'
    socket.on('message', (data) => this.onMessage(toBytes(data)))
    socket.on('close', (code, reason) => this.#handleClose(code, reason.toString()))
    // ws reports protocol violations and oversize messages here, then closes: never let it throw.
    socket.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.closeOverride ??= { code: CloseCodes.tooLarge, reason: `message larger than maxPayload: ${error.message}` }
      else this.closeOverride ??= { code: CloseCodes.protocolError, reason: error.message }
    })
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount
  }

  whenWritable(): Promise<void> {
    if (this.#closed || this.socket.bufferedAmount < this.highWaterMark) return Promise.resolve()
    return new Promise((resolve) => {
      if (this.#drainWaiters.push(resolve) === 1) this.#pollDrain()
    })
  }

  // The net socket's 'drain' fires only when its own buffer empties; poll while waiters exist.
  #pollDrain(): void {
    setImmediate(() => {
      if (this.#closed || this.socket.bufferedAmount < this.highWaterMark) {
        const waiters = this.#drainWaiters
        this.#drainWaiters = []
        for (const resolve of waiters) resolve()
      } else this.#pollDrain()
    })
  }

  send(bytes: Uint8Array): void {
    if (this.#closed || this.socket.readyState !== 1) return
    // Coalesce every frame written in this turn into one socket write (uncork on the next tick).
    if (!this.#corked) {
      const raw = (this.socket as unknown as { _socket?: RawSocket })._socket
      if (raw) {
        this.#corked = true
        raw.cork()
        process.nextTick(this.#uncork, raw)
      }
    }
    this.socket.send(bytes, { binary: true })
  }

  close(code: number, reason: string): void {
    if (this.#closed) return
    this.closeOverride ??= { code, reason }
    try {
      this.socket.close(code, reason)
    } catch {
      this.socket.terminate()
    }
    this.#closeTimer = setTimeout(() => this.socket.terminate(), this.#settings.closeTimeoutMs)
    this.#closeTimer.unref?.()
  }

  /** Ends the socket at once (liveness failure), reporting `code`/`reason` to the kernel. */
  terminate(code: number, reason: string): void {
    this.closeOverride ??= { code, reason }
    this.socket.terminate()
  }

  #handleClose(code: number, reason: string): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#closeTimer)
    const waiters = this.#drainWaiters
    this.#drainWaiters = []
    for (const resolve of waiters) resolve()
    const info = this.closeOverride ?? { code, reason: reason || closeName(code) }
    this.onClose(info.code, info.reason)
  }
}

function closeName(code: number): string {
  if (code === 1006) return 'connection lost (no close frame)'
  if (code === 1000) return 'normal closure'
  if (code === 1001) return 'peer going away'
  return `closed with code ${code}`
}
