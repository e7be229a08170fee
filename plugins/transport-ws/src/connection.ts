/**
 * One ws socket as a kernel `Connection`: coalesced writes, backpressure reporting, liveness, and
 * a close that never waits on a peer that has gone quiet (STYLE rule 10).
 */
import type { Connection, PingedConnection } from '@echostream/kernel'
import type { WebSocket, RawData } from 'ws'
import { CloseCodes, formatPeer, monotonicMicros, type PeerSource } from '@echostream/kernel'
import type { PingWatch } from './liveness.js'
import { giveFrameBuffer, takeFrameBuffer } from './frame-pool.js'
import { joinParts, maskedFrame, maskedFrameInto, maskedHeaderLength } from './sender.js'

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
  this[CONNECTION]!.deliver(toBytes(data), lastReadAt || monotonicMicros())
}

/**
 * Arrival is stamped once per read of a net socket, not once per message: the messages ws parses
 * out of one read arrived together, and `performance.now()` per message was 3.5 % of a fan-out
 * client's time (16 sockets, a few dozen events per read). The stamp is taken before ws parses
 * the read, and ws hands us the read's messages synchronously (one module-wide stamp, not a boxed
 * double per connection). Should ws defer a message, it gets a later read's stamp: late, never
 * early — as the per-message stamp was.
 */
let lastReadAt = 0
function rawOnData(): void {
  lastReadAt = monotonicMicros()
}
type StampedRawSocket = RawSocket & {
  listeners(event: 'data'): Function[]
  on(event: 'data', listener: Function): void
  removeListener(event: 'data', listener: Function): void
  prependListener(event: 'data', listener: () => void): void
}
type DataListener = ((this: unknown, chunk: Buffer) => void) & { listener?: Function }

/** ws's own 'data' listener (one function for every socket) and the stamping wrapper made for it, once. */
let wsOnData: Function | undefined
let stampedOnData: DataListener | undefined

/**
 * Stamps each read before ws parses it. ws listens to the net socket's 'data' with one function;
 * that listener is swapped for a wrapper that stamps, then calls it. (Prepending a second listener
 * made the socket's 'data' slot an array — 64 bytes per connection — and Node copies that array on
 * every read.) The wrapper's `listener` property names ws's function, Node's convention for a
 * wrapped listener (as `once` does): ws's own `removeListener('data', socketOnData)` removes it.
 * A socket whose 'data' listeners are not that one function gets a prepended stamp as before.
 */
function stampReads(raw: StampedRawSocket): void {
  const listeners = raw.listeners('data')
  const only = listeners.length === 1 ? listeners[0] : undefined
  if (only !== undefined && (wsOnData === undefined || only === wsOnData)) {
    if (stampedOnData === undefined) {
      const ws = (wsOnData = only)
      stampedOnData = function (this: unknown, chunk: Buffer): void {
        lastReadAt = monotonicMicros()
        ws.call(this, chunk)
      }
      stampedOnData.listener = ws
    }
    raw.removeListener('data', only)
    raw.on('data', stampedOnData)
  } else {
    raw.prependListener('data', rawOnData)
  }
}

// ws reports protocol violations and oversize messages here, then closes: never let it throw.
function socketOnError(this: OwnedSocket, error: Error & { code?: string }): void {
  const connection = this[CONNECTION]!
  if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') connection.setCloseReason(CloseCodes.tooLarge, `message larger than maxPayload: ${error.message}`)
  else connection.setCloseReason(CloseCodes.protocolError, error.message)
}


/** `WsConnection` state bits (one small integer instead of a field per boolean: 8 bytes each). */
const CLOSED = 1
const CORKED = 2
/** Server side: answers heartbeats, does not mask, is in the server's registry. */
const SERVER = 4
/** ws's receive queue has not been trimmed since the first message (see `trimReceiveQueue`). */
const UNTRIMMED = 8
/** Server: pongs to the peer's pings not yet written (bits 4–11, a count), and ws's cap on them. */
const PONG = 16
const PENDING_PONGS = 0xff * PONG
const MAX_PENDING_PONGS = 60

/** What a connection keeps only while it needs it (closing, waiting for drain, a client's ping deadline). */
interface Extras {
  closeOverride?: { code: number; reason: string }
  closeTimer?: ReturnType<typeof setTimeout>
  drainWaiters?: Array<() => void>
  onDrain?: () => void
  pings?: PingWatch
}

/** A server's settings, shared by its connections, with the set of live ones (each leaves it when its socket closes). */
export interface ServerConnectionSettings extends ConnectionSettings {
  readonly connections: Set<WsConnection>
}

/**
 * ws's Receiver grows its queue of unparsed reads (an array) to 17 slots (152 bytes) for the first
 * read it parses and keeps that capacity when the array empties: an idle connection would carry it
 * from its hello on, and again after every pong. Once empty it is swapped for a fresh array (no
 * backing store): after the first message (once per connection) and after each pong (liveness.ts).
 * ws reads `this._buffers` afresh on every use. Returns false while the queue still holds bytes.
 */
export function trimReceiveQueue(socket: WebSocket): boolean {
  const receiver = (socket as unknown as { _receiver?: { _buffers?: unknown[] } })._receiver
  if (!receiver || !Array.isArray(receiver._buffers)) return true // not ws as we know it: nothing to do
  if (receiver._buffers.length !== 0) return false // more of this read to parse: try on the next message
  receiver._buffers = []
  return true
}

/**
 * Per connection, only this object and what ws itself keeps: the socket's listeners are shared
 * functions, the booleans are bits of one integer, and what only a closing, congested or client
 * connection needs is made on first use, so an idle connection costs little heap (the bench's "JS
 * heap per idle connection"; bench/README.md "What an idle connection keeps"). Helper methods are
 * TypeScript-private, not `#`: an instance's `#` method gives every instance a private brand (8 B).
 */
export class WsConnection implements Connection, PingedConnection {
  onMessage: (bytes: Uint8Array, arrivedAt: number) => void = noop
  onClose: (code: number, reason: string) => void = noop
  /** Server: the ping round whose pong is owed, 0 when none is (the kernel's PingRounds; liveness.ts). */
  pingRound = 0
  /** The peer's address, or (server) its socket until the address is first asked for. */
  #peer: string | PeerSource
  #flags: number
  #settings: ConnectionSettings | ServerConnectionSettings
  #extras: Extras | undefined

  constructor(
    readonly socket: WebSocket,
    peer: string | PeerSource,
    settings: ConnectionSettings | ServerConnectionSettings,
  ) {
    this.#peer = peer
    this.#settings = settings
    const server = 'connections' in settings
    this.#flags = server ? SERVER | UNTRIMMED : UNTRIMMED
    if (server) settings.connections.add(this)
    ;(socket as OwnedSocket)[CONNECTION] = this
    socket.binaryType = 'nodebuffer'
    socket.on('message', socketOnMessage)
    socket.on('close', WsConnection.#socketOnClose)
    socket.on('error', socketOnError)
    const raw = this.raw() as StampedRawSocket | undefined
    if (raw) stampReads(raw)
  }

  static #socketOnClose(this: OwnedSocket, code: number, reason: Buffer): void {
    this[CONNECTION]!.handleClose(code, reason.toString())
  }

  static #uncork(connection: WsConnection, raw: RawSocket): void {
    connection.#flags &= ~CORKED
    raw.uncork()
  }

  /** A message from the socket (socketOnMessage): a server answers a heartbeat; the first message trims ws's queue. */
  deliver(bytes: Uint8Array, arrivedAt: number): void {
    // A server answers a heartbeat at once; a client has nothing to do with one.
    if (bytes.byteLength === 0) return void (this.#flags & SERVER && this.send(HEARTBEAT))
    this.onMessage(bytes, arrivedAt)
    if (this.#flags & UNTRIMMED && trimReceiveQueue(this.socket)) this.#flags &= ~UNTRIMMED
  }

  /**
   * Server: answers a peer's ping with a pong of the same data (RFC 6455 §5.5.2), as ws's
   * `autoPong` does — which the server turns off: ws makes its completion callback for every
   * socket up front (a closure and its context, 96 bytes per connection), while echostream
   * clients never ping (the server pings them). The same cap as ws's: a peer with more than
   * `maxPendingAutoPongs` (60) pongs unwritten is terminated.
   */
  answerPing(data: Buffer): void {
    const socket = this.socket
    if (socket.readyState !== 1) return
    if ((this.#flags & PENDING_PONGS) >= MAX_PENDING_PONGS * PONG) return socket.terminate()
    this.#flags += PONG
    socket.pong(data, false, () => void (this.#flags -= PONG))
  }

  /** Set when we decide why the socket ends (ping timeout, too large), so `close` reports it. */
  get closeOverride(): { code: number; reason: string } | undefined {
    return this.#extras?.closeOverride
  }

  /** Records why the socket ends unless a reason is already recorded. */
  setCloseReason(code: number, reason: string): void {
    const extras = (this.#extras ??= {})
    extras.closeOverride ??= { code, reason }
  }

  /** Client: the deadline for the server's pings (liveness.ts). */
  get pings(): PingWatch | undefined {
    return this.#extras?.pings
  }

  set pings(watch: PingWatch | undefined) {
    ;(this.#extras ??= {}).pings = watch
  }

  /** Server side: answers a peer's heartbeat (an empty message) with one. */
  get answersHeartbeats(): boolean {
    return (this.#flags & SERVER) !== 0
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

  /** Server: open, so the pinger may ping it. */
  get ready(): boolean {
    return !(this.#flags & CLOSED) && this.socket.readyState === 1
  }

  ping(): void {
    this.socket.ping()
  }

  /** True once the socket closed (the kernel has been told). */
  get isClosed(): boolean {
    return (this.#flags & CLOSED) !== 0
  }

  get highWaterMark(): number {
    return this.#settings.highWaterMark
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount
  }

  whenWritable(): Promise<void> {
    if (this.#flags & CLOSED || this.socket.bufferedAmount < this.highWaterMark) return Promise.resolve()
    return new Promise((resolve) => {
      if (((this.#extras ??= {}).drainWaiters ??= []).push(resolve) === 1) this.awaitDrain()
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
  private awaitDrain(): void {
    const extras = (this.#extras ??= {})
    const onDrain = (extras.onDrain ??= () => this.drained())
    const raw = this.raw()
    if (!raw) setImmediate(onDrain)
    else if (raw.writableNeedDrain) raw.once('drain', onDrain)
    else if (raw.writableLength > 0) raw.write(EMPTY, onDrain)
    else setImmediate(onDrain)
  }

  private drained(): void {
    if (!this.#extras?.drainWaiters?.length) return
    if (!(this.#flags & CLOSED) && this.socket.bufferedAmount >= this.highWaterMark) return this.awaitDrain()
    this.releaseDrainWaiters()
  }

  private releaseDrainWaiters(): void {
    const extras = this.#extras
    const waiters = extras?.drainWaiters
    if (!waiters?.length) return
    extras!.drainWaiters = undefined
    for (const resolve of waiters) resolve()
  }

  private raw(): RawSocket | undefined {
    return (this.socket as unknown as { _socket?: RawSocket })._socket
  }

  send(bytes: Uint8Array): void {
    const flags = this.#flags
    if (flags & CLOSED || this.socket.readyState !== 1) return
    // Coalesce the small frames written in this turn into one socket write (uncork on the next tick).
    if (!(flags & CORKED) && bytes.byteLength < UNCORKED_BYTES) {
      const raw = this.raw()
      if (raw) {
        this.#flags = flags | CORKED
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
   * order of messages is kept. A frame of 16 KiB or more is masked into a pooled buffer that goes
   * back to the pool from the write's callback (frame-pool.ts): no fresh 64 KiB per chunk. A server,
   * which does not mask, joins the parts and sends as usual.
   */
  sendParts(parts: readonly Uint8Array[], length: number): void {
    if (this.#flags & CLOSED || this.socket.readyState !== 1) return
    const raw = this.raw()
    if (this.#flags & SERVER || !raw) return this.send(joinParts(parts, length))
    // A large frame in a pooled buffer, back in the pool once the socket flushed it (frame-pool.ts).
    const pooled = takeFrameBuffer(maskedHeaderLength(length) + length)
    if (pooled !== undefined) {
      const framed = maskedFrameInto(parts, length, pooled)
      if (framed !== undefined) return void raw.write(framed, () => giveFrameBuffer(pooled))
      giveFrameBuffer(pooled)
    }
    const buffers = maskedFrame(parts, length)
    if (buffers.length === 1) return void raw.write(buffers[0]!)
    // One writev for header and body; inside this turn's cork (small frames before it) they join it.
    raw.cork()
    for (const buffer of buffers) raw.write(buffer)
    raw.uncork()
  }

  close(code: number, reason: string): void {
    if (this.#flags & CLOSED) return
    this.setCloseReason(code, reason)
    try {
      this.socket.close(code, reason)
    } catch {
      this.socket.terminate()
    }
    const timer = setTimeout(() => this.socket.terminate(), this.#settings.closeTimeoutMs)
    timer.unref?.()
    this.#extras!.closeTimer = timer
  }

  /** Ends the socket at once (liveness failure), reporting `code`/`reason` to the kernel. */
  terminate(code: number, reason: string): void {
    this.setCloseReason(code, reason)
    this.socket.terminate()
  }

  private handleClose(code: number, reason: string): void {
    if (this.#flags & CLOSED) return
    this.#flags |= CLOSED
    this.pingRound = 0
    const extras = this.#extras
    if (extras) clearTimeout(extras.closeTimer)
    if (this.#flags & SERVER) (this.#settings as ServerConnectionSettings).connections.delete(this)
    this.releaseDrainWaiters()
    const info = extras?.closeOverride ?? { code, reason: reason || closeName(code) }
    this.onClose(info.code, info.reason)
  }
}

function closeName(code: number): string {
  if (code === 1006) return 'connection lost (no close frame)'
  if (code === 1000) return 'normal closure'
  if (code === 1001) return 'peer going away'
  return `closed with code ${code}`
}
