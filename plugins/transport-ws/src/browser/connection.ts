/**
 * A kernel `Connection` over the browser's own WebSocket: no ws, no Node APIs. What differs from
 * the Node client (connection.ts) and why:
 * - close codes: a page may send only 1000 and 3000–4999 (anything else throws InvalidAccessError)
 *   and a reason of at most 123 UTF-8 bytes (else SyntaxError). Other codes go out as 1000 with
 *   the real code in the reason; the kernel is told the real code.
 * - liveness: a page never sees WebSocket pings, so it keeps the application-level heartbeat
 *   (heartbeat.ts); a dead link is given up on locally at once (a close handshake with a dead peer
 *   would hang), reported as 4008.
 * - backpressure: no 'drain' event; see drain.ts.
 * - size: the browser enforces no maxPayload, so this does, as ws does on Node.
 */
import { closeReason, CloseCodes, EchoError, ErrorCodes, monotonicMicros, type Connection } from '@echostream/kernel'
import { DrainWatch } from './drain.js'
import { Heartbeat, type HeartbeatSettings } from './heartbeat.js'

export interface BrowserConnectionSettings extends HeartbeatSettings {
  highWaterMark: number
  maxPayload: number
  connectTimeoutMs: number
  closeTimeoutMs: number
}

const noop = () => {}
const EMPTY = new Uint8Array(0)
const utf8 = new TextEncoder()

/** Codes a page is allowed to send (RFC 6455 §7.4 as the WebSocket API restricts it). */
export function sendableCode(code: number): number {
  return code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000
}

/** A close reason of at most 123 UTF-8 bytes, cut at a character boundary (the kernel's `closeReason`). */
export const sendableReason: (reason: string) => string = closeReason

export class BrowserConnection implements Connection {
  onMessage: (bytes: Uint8Array, arrivedAt: number) => void = noop
  onClose: (code: number, reason: string) => void = noop
  readonly heartbeat: Heartbeat
  readonly drain: DrainWatch
  #closed = false
  #closeTimer: ReturnType<typeof setTimeout> | undefined

  constructor(
    readonly socket: WebSocket,
    readonly peer: string,
    private readonly settings: BrowserConnectionSettings,
  ) {
    this.heartbeat = new Heartbeat(
      () => this.#write(EMPTY),
      (silentMs) => this.terminate(CloseCodes.pingTimeout, `ping timeout: nothing from the server for ${silentMs} ms`),
    )
    this.drain = new DrainWatch(() => socket.bufferedAmount, settings.highWaterMark)
    socket.onmessage = (event: MessageEvent) => this.#onSocketMessage(event)
    socket.onclose = (event: CloseEvent) => this.#finish(event.code, event.reason || (event.code === 1006 ? 'connection lost (no close frame)' : `closed with code ${event.code}`))
    socket.onerror = noop // a close event follows every error
    // This side's own cadence until the welcome announces the server's (expectPings).
    this.heartbeat.start(settings)
  }

  get highWaterMark(): number {
    return this.settings.highWaterMark
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount
  }

  get isClosed(): boolean {
    return this.#closed
  }

  /** The server announced its ping cadence (`welcome.limits`): keep the heartbeat to it. */
  expectPings(pingIntervalMs: number, pingTimeoutMs: number): void {
    if (!this.#closed && pingIntervalMs > 0 && pingTimeoutMs > 0) this.heartbeat.start({ pingIntervalMs, pingTimeoutMs })
  }

  whenWritable(): Promise<void> {
    return this.#closed ? Promise.resolve() : this.drain.wait()
  }

  send(bytes: Uint8Array): void {
    if (this.#closed || this.socket.readyState !== 1) return
    this.#write(bytes)
    this.drain.poke(bytes.byteLength)
  }

  close(code: number, reason: string): void {
    if (this.#closed) return
    const sendable = sendableCode(code)
    try {
      this.socket.close(sendable, sendableReason(sendable === code ? reason : `${code}: ${reason}`))
    } catch {
      this.socket.close()
    }
    // A peer that never completes the close handshake must not keep this connection alive.
    this.#closeTimer = setTimeout(() => this.#finish(code, reason), this.settings.closeTimeoutMs)
  }

  /** Gives the link up at once (liveness failure): the kernel hears `code` now, the socket closes in the background. */
  terminate(code: number, reason: string): void {
    if (this.#closed) return
    try {
      this.socket.close(sendableCode(code), sendableReason(reason))
    } catch {
      // already closing
    }
    this.#finish(code, reason)
  }

  #write(bytes: Uint8Array): void {
    this.socket.send(bytes)
  }

  #onSocketMessage(event: MessageEvent): void {
    if (this.#closed) return
    const arrivedAt = monotonicMicros()
    this.heartbeat.touch()
    const data = event.data as ArrayBuffer | string
    const bytes = typeof data === 'string' ? utf8.encode(data) : new Uint8Array(data)
    // Heard from the peer: anything waiting on the send buffer may go (a stream credit, say).
    this.drain.poke()
    if (bytes.byteLength === 0) return // a heartbeat answer (PROTOCOL.md): not a frame
    if (bytes.byteLength > this.settings.maxPayload) {
      this.terminate(CloseCodes.tooLarge, `message of ${bytes.byteLength} bytes is larger than maxPayload (${this.settings.maxPayload})`)
      return
    }
    this.onMessage(bytes, arrivedAt)
  }

  #finish(code: number, reason: string): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#closeTimer)
    this.heartbeat.stop()
    this.drain.releaseAll()
    this.socket.onmessage = null
    this.socket.onclose = null
    this.onClose(code, reason)
  }
}

/** Opens a WebSocket to `url` and resolves once it is open. */
export function connectBrowser(url: string, settings: BrowserConnectionSettings): Promise<BrowserConnection> {
  let socket: WebSocket
  try {
    socket = new globalThis.WebSocket(url)
  } catch (error) {
    return Promise.reject(new EchoError(ErrorCodes.E_CONFIG, `Cannot connect to '${url}': ${(error as Error)?.message}. Give a ws:// or wss:// URL.`, { cause: error }))
  }
  socket.binaryType = 'arraybuffer'
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer)
      socket.onopen = socket.onerror = socket.onclose = null
      reject(new EchoError(ErrorCodes.E_CLOSED, `Cannot connect to ${url}: ${why}. Is the server running and the URL right? (A wss:// server's certificate must be trusted by the browser.)`, { retryable: true }))
    }
    const timer = setTimeout(() => {
      fail(`no answer within ${settings.connectTimeoutMs} ms`)
      socket.close()
    }, settings.connectTimeoutMs)
    socket.onerror = noop
    socket.onclose = (event) => fail(`closed with code ${event.code}`)
    socket.onopen = () => {
      clearTimeout(timer)
      socket.onopen = null
      resolve(new BrowserConnection(socket, new URL(url).host, settings))
    }
  })
}
