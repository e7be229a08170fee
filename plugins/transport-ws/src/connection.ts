/**
 * One ws socket as a kernel `Connection`: coalesced writes, backpressure reporting, liveness, and
 * a close that never waits on a peer that has gone quiet (STYLE rule 10).
 */
import type { Connection } from '@echostream/kernel'
import type { WebSocket, RawData } from 'ws'
import { CloseCodes, formatPeer, monotonicMicros, type PeerSource } from '@echostream/kernel'
import type { PingWatch } from './liveness.js'
import { joinParts, maskedFrame } from './sender.js'

export interface ConnectionSettings {
  highWaterMark: number
  closeTimeoutMs: number
}

const noop = () => {}

/** ws's send options for every frame (one object, not one per send). */
const BINARY = { binary: true } as const

/**
 * Messages at least this large are written at once instead of joining the turn's corked write:
 * coalescing saves a syscall per small frame, nothing for a bulk chunk, and a corked megabyte of
 * chunks lives until the turn ends (long enough to reach the old generation).
 */
const UNCORKED_BYTES = 16 * 1024

interface RawSocket {
  cork(): void
  uncork(): void
  write(chunk: Uint8Array, callback?: () => void): boolean
  readonly writableNeedDrain: boolean
  readonly writableLength: number
  once(event: 'drain', listener: () => void): void
}

/** Written to the net socket to be called back once everything queued before it is flushed (no bytes reach the wire). */
const EMPTY = new Uint8Array(0)

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data
}

/** The socket's WsConnection, so the socket's listeners can be shared functions instead of closures per connection. */
const CONNECTION = Symbol('echostream.connection')
type OwnedSocket = WebSocket & { [CONNECTION]?: WsConnection }

/** The WsConnection wrapping a ws socket, if any. */
export function connectionOf(socket: WebSocket): WsConnection | undefined {
  return (socket as OwnedSocket)[CONNECTION]
}

/** The heartbeat of peers that cannot see pings (a browser; PROTOCOL.md "Heartbeat"): an empty message, never a frame. */
const HEARTBEAT = new Uint8Array(0)

function socketOnMessage(this: OwnedSocket, data: RawData): void {
  const connection = this[CONNECTION]!
  const bytes = toBytes(data)
  // A server answers a heartbeat at once; a client has nothing to do with one.
  if (bytes.byteLength === 0) return void (connection.answersHeartbeats && connection.send(HEARTBEAT))
  connection.onMessage(bytes, lastReadAt || monotonicMicros())
}

/**
 * Arrival is stamped once per read of a net socket, not once per message: the messages ws parses
 * out of one read arrived together, and `performance.now()` per message was 3.5 % of a fan-out
 * client's time (16 sockets, a few dozen events per read). The listener is prepended, so the
 * stamp is taken before ws parses the read, and ws hands us the read's messages synchronously
 * (one module-wide stamp, not a boxed double per connection). Should ws defer a message, it gets
 * a later read's stamp: late, never early — as the per-message stamp was.
 */
let lastReadAt = 0
function rawOnData(): void {
  lastReadAt = monotonicMicros()
}
type StampedRawSocket = RawSocket & { prependListener(event: 'data', listener: () => void): void }

// ws reports protocol violations and oversize messages here, then closes: never let it throw.
function socketOnError(this: OwnedSocket, error: Error & { code?: string }): void {
  const connection = this[CONNECTION]!
  if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') connection.closeOverride ??= { code: CloseCodes.tooLarge, reason: `message larger than maxPayload: ${error.message}` }
  else connection.closeOverride ??= { code: CloseCodes.protocolError, reason: error.message }
}


/**
 * Per connection, only this object and what ws itself keeps: the socket's listeners are shared
 * functions and the drain machinery is made on first use, so an idle connection costs little heap
 * (the bench's "JS heap per idle connection").
 */
export class WsConnection implements Connection {
  onMessage: (bytes: Uint8Array, arrivedAt: number) => void = noop
  onClose: (code: number, reason: string) => void = noop
  /** Set when we decide why the socket ends (ping timeout, too large), so `close` reports it. */
  closeOverride: { code: number; reason: string } | undefined
  /** Server: the deadline of the pong to the last ping (liveness.ts). */
  pongTimer: ReturnType<typeof setTimeout> | undefined
  /** Client: the deadline for the server's pings (liveness.ts). */
  pings: PingWatch | undefined
  /** The peer's address, or (server) its socket until the address is first asked for. */
  #peer: string | PeerSource
  #closed = false
  #corked = false
  #drainWaiters: Array<() => void> | undefined
  #onDrain: (() => void) | undefined
  #closeTimer: ReturnType<typeof setTimeout> | undefined
  #settings: ConnectionSettings
  /** Server: the set of live connections this one leaves when its socket closes. */
  #registry: Set<WsConnection> | undefined
  /** Server side: answers a peer's heartbeat (an empty message) with one. */
  readonly answersHeartbeats: boolean
  /** Client side: masks what it sends (RFC 6455), so `sendParts` joins the parts in the masking copy. */
  readonly #masks: boolean

  constructor(
    readonly socket: WebSocket,
    peer: string | PeerSource,
    settings: ConnectionSettings,
    registry?: Set<WsConnection>,
  ) {
    this.#peer = peer
    this.#settings = settings
    this.#registry = registry
    this.answersHeartbeats = registry !== undefined
    this.#masks = registry === undefined
    registry?.add(this)
    ;(socket as OwnedSocket)[CONNECTION] = this
    socket.binaryType = 'nodebuffer'
    socket.on('message', socketOnMessage)
    socket.on('close', WsConnection.#socketOnClose)
    socket.on('error', socketOnError)
    ;(this.#raw() as StampedRawSocket | undefined)?.prependListener('data', rawOnData)
  }

  static #socketOnClose(this: OwnedSocket, code: number, reason: Buffer): void {
    this[CONNECTION]!.#handleClose(code, reason.toString())
  }

  static #uncork(connection: WsConnection, raw: RawSocket): void {
    connection.#corked = false
    raw.uncork()
  }

  /**
   * `host:port`. A server reads it from the socket on first use (most idle connections are never
   * asked, and the strings and Node's cached address object cost ~150 bytes each); once the socket
   * is gone without having been asked, 'unknown'.
   */
  get peer(): string {
    const peer = this.#peer
    if (typeof peer === 'string') return peer
    return (this.#peer = formatPeer(peer) ?? 'unknown')
  }

  /** Client: the kernel passes the server's announced ping cadence (`welcome.limits`); from then on the deadline follows it. */
  expectPings(pingIntervalMs: number, pingTimeoutMs: number): void {
    this.pings?.expect({ pingIntervalMs, pingTimeoutMs })
  }

  /** True once the socket closed (the kernel has been told). */
  get isClosed(): boolean {
    return this.#closed
  }

  get highWaterMark(): number {
    return this.#settings.highWaterMark
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount
  }

  whenWritable(): Promise<void> {
    if (this.#closed || this.socket.bufferedAmount < this.highWaterMark) return Promise.resolve()
    return new Promise((resolve) => {
      if ((this.#drainWaiters ??= []).push(resolve) === 1) this.#awaitDrain()
    })
  }

  /**
   * Waits without polling. Above the net socket's own high-water mark (16 KiB) its last write
   * returned false, so it emits 'drain' once its buffer is empty: wait for that, as a tight ws
   * user does. Below it (a `highWaterMark` option under 16 KiB) no 'drain' comes: an empty
   * write's callback runs once everything queued before it was flushed. (The old fallback looked
   * again on every turn with setImmediate — a busy loop for as long as a paused peer kept the
   * buffer full.) Bytes still in ws's own sender queue (only with compression or Blobs, both
   * unused here) are looked at again on the next turn.
   */
  #awaitDrain(): void {
    const onDrain = (this.#onDrain ??= () => this.#drained())
    const raw = this.#raw()
    if (!raw) setImmediate(onDrain)
    else if (raw.writableNeedDrain) raw.once('drain', onDrain)
    else if (raw.writableLength > 0) raw.write(EMPTY, onDrain)
    else setImmediate(onDrain)
  }

  #drained(): void {
    if (!this.#drainWaiters?.length) return
    if (!this.#closed && this.socket.bufferedAmount >= this.highWaterMark) return this.#awaitDrain()
    this.#releaseDrainWaiters()
  }

  #releaseDrainWaiters(): void {
    const waiters = this.#drainWaiters
    if (!waiters?.length) return
    this.#drainWaiters = undefined
    for (const resolve of waiters) resolve()
  }

  #raw(): RawSocket | undefined {
    return (this.socket as unknown as { _socket?: RawSocket })._socket
  }

  send(bytes: Uint8Array): void {
    if (this.#closed || this.socket.readyState !== 1) return
    // Coalesce the small frames written in this turn into one socket write (uncork on the next tick).
    if (!this.#corked && bytes.byteLength < UNCORKED_BYTES) {
      const raw = this.#raw()
      if (raw) {
        this.#corked = true
        raw.cork()
        process.nextTick(WsConnection.#uncork, this, raw)
      }
    }
    this.socket.send(bytes, BINARY)
  }

  /**
   * One message from parts (a stream chunk after its envelope). A client masks the parts into one
   * frame and writes it to the socket itself (sender.ts): ws's `send` would copy the joined message
   * again to mask it. Nothing is queued in ws's own sender to overtake (no compression, no Blobs), so the
   * order of messages is kept. A server, which does not mask, joins the parts and sends as usual.
   */
  sendParts(parts: readonly Uint8Array[], length: number): void {
    if (this.#closed || this.socket.readyState !== 1) return
    const raw = this.#raw()
    if (!this.#masks || !raw) return this.send(joinParts(parts, length))
    const buffers = maskedFrame(parts, length)
    if (buffers.length === 1) return void raw.write(buffers[0]!)
    // One writev for header and body; inside this turn's cork (small frames before it) they join it.
    raw.cork()
    for (const buffer of buffers) raw.write(buffer)
    raw.uncork()
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
    clearTimeout(this.pongTimer)
    this.pongTimer = undefined
    this.#registry?.delete(this)
    this.#releaseDrainWaiters()
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
