/**
 * One TCP (or TLS) socket as a kernel `Connection`: the receiver turns its bytes into frames, the
 * sender coalesces its writes, a close frame carries the code and reason, and a close never waits
 * on a peer that has gone quiet (STYLE rule 10: `closeTimeoutMs`, then destroy).
 *
 * Per connection there is only this object, its receiver and its sender: the socket's listeners
 * are module-level functions that find the connection through a symbol on the socket, timers take
 * the connection as an argument, and the drain listener exists only while someone waits — an
 * idle connection costs little heap (the bench's "heap per idle connection").
 */
import type { Socket } from 'node:net'
import { formatPeer, monotonicMicros, type Connection, type EchoError, type PeerSource } from '@echostream/kernel'
import { TransportCloseCodes } from './constants.js'
import { closeCodeOf } from './errors.js'
import { FrameReceiver, type FrameSink } from './receiver.js'
import { FrameSender } from './sender.js'

export interface ConnectionSettings {
  readonly maxPayload: number
  readonly highWaterMark: number
  readonly closeTimeoutMs: number
}

/** Who learns that the preambles were exchanged (the server: hand it to the kernel; the client: resolve connect). */
export interface ConnectionOwner {
  ready(connection: TcpConnection): void
  /** The socket closed before the peer's preamble arrived (or it was not one); `error` says why when we know. */
  closedBeforeReady(connection: TcpConnection, code: number, reason: string, error: EchoError | undefined): void
}


const noop = () => {}

const CONNECTION = Symbol('echostream.tcp.connection')
type OwnedSocket = Socket & { [CONNECTION]?: TcpConnection }

/** Every message of a chunk arrived together: one arrival stamp per socket read (clock sync's receive time). */
function socketOnData(this: OwnedSocket, chunk: Buffer): void {
  this[CONNECTION]!.receiver.push(chunk, monotonicMicros())
}

/** The peer half-closed: with a close frame first that is the end of a close; without, the link is lost. */
function socketOnEnd(this: OwnedSocket): void {
  this[CONNECTION]!.peerEnded()
}

function socketOnError(this: OwnedSocket, error: Error): void {
  this[CONNECTION]!.socketError ??= error
}

function socketOnClose(this: OwnedSocket): void {
  this[CONNECTION]!.handleClose()
}

function socketOnDrain(this: OwnedSocket): void {
  this[CONNECTION]!.drained()
}

function destroySocket(socket: Socket): void {
  socket.destroy()
}

function deadlineExpired(connection: TcpConnection, ms: number): void {
  connection.terminate(TransportCloseCodes.pingTimeout, `ping timeout: no ping from the server for ${ms} ms`)
}

/** Rethrows a user callback's error outside the receiver's loop (the frames after it are still delivered). */
function rethrow(error: unknown): void {
  queueMicrotask(() => {
    throw error
  })
}

export class TcpConnection implements Connection, FrameSink {
  onMessage: (bytes: Uint8Array, arrivedAt: number) => void = noop
  onClose: (code: number, reason: string) => void = noop
  /** Set when this side decides why the socket ends (close, ping timeout, framing error), so `onClose` reports it. */
  closeOverride: { code: number; reason: string } | undefined
  /** The socket's first error (for the reason of a lost link). */
  socketError: Error | undefined
  /** Server liveness (the kernel's PingRounds): the round whose ping is unanswered, 0 when none is. */
  pingRound = 0
  readonly receiver: FrameReceiver
  readonly #sender: FrameSender
  #owner: ConnectionOwner | undefined
  #peer: string | PeerSource
  #settings: ConnectionSettings
  /** Server: the set of live connections this one leaves when its socket closes. */
  #registry: Set<TcpConnection> | undefined
  #ready = false
  /** A close frame was sent or received: nothing more is sent. */
  #closing = false
  #closed = false
  #closeTimer: ReturnType<typeof setTimeout> | undefined
  /** Client liveness: terminate when no ping came for this long. */
  #deadline: ReturnType<typeof setTimeout> | undefined
  #drainWaiters: Array<() => void> | undefined

  constructor(
    readonly socket: Socket,
    peer: string | PeerSource,
    settings: ConnectionSettings,
    owner: ConnectionOwner,
    registry?: Set<TcpConnection>,
  ) {
    this.#peer = peer
    this.#settings = settings
    this.#owner = owner
    this.#registry = registry
    registry?.add(this)
    this.receiver = new FrameReceiver(this, settings.maxPayload)
    this.#sender = new FrameSender(socket)
    ;(socket as OwnedSocket)[CONNECTION] = this
    socket.on('data', socketOnData)
    socket.on('end', socketOnEnd)
    socket.on('error', socketOnError)
    socket.on('close', socketOnClose)
  }

  /** `host:port`; a server reads it from the socket on first use (most idle connections are never asked). */
  get peer(): string {
    const peer = this.#peer
    if (typeof peer === 'string') return peer
    return (this.#peer = formatPeer(peer) ?? 'unknown')
  }

  /** The peer's preamble arrived. */
  get handshaken(): boolean {
    return this.#ready
  }

  /** Handshaken and neither closing nor closed: may be pinged. */
  get ready(): boolean {
    return this.#ready && !this.#closing && !this.#closed
  }

  get highWaterMark(): number {
    return this.#settings.highWaterMark
  }

  get bufferedAmount(): number {
    return this.socket.writableLength + this.#sender.pending
  }

  send(bytes: Uint8Array): void {
    if (this.#closing || this.#closed) return
    this.#sender.message(bytes)
  }

  /** Sends a transport ping (server liveness). */
  ping(): void {
    if (!this.#closing && !this.#closed) this.#sender.ping()
  }

  whenWritable(): Promise<void> {
    if (this.#closed || this.bufferedAmount < this.#settings.highWaterMark) return Promise.resolve()
    return new Promise((resolve) => {
      if ((this.#drainWaiters ??= []).push(resolve) === 1) this.#awaitDrain()
    })
  }

  /**
   * Above the mark: hand this turn's frames to the socket, then wait for its `drain` (no polling).
   * The socket's own writableHighWaterMark is set at or below ours (server.ts, client.ts), so a
   * socket holding ≥ highWaterMark bytes has refused a write and will emit `drain` once empty.
   */
  #awaitDrain(): void {
    this.#sender.flush()
    if (this.socket.writableNeedDrain) this.socket.once('drain', socketOnDrain)
    else setImmediate(socketOnDrain.bind(this.socket as OwnedSocket))
  }

  /** @internal the socket drained. */
  drained(): void {
    if (!this.#drainWaiters?.length) return
    if (!this.#closed && this.bufferedAmount >= this.#settings.highWaterMark) return this.#awaitDrain()
    this.#releaseDrainWaiters()
  }

  #releaseDrainWaiters(): void {
    const waiters = this.#drainWaiters
    if (!waiters?.length) return
    this.#drainWaiters = undefined
    for (const resolve of waiters) resolve()
  }

  /** Closes with a close frame (code + reason), then half-closes; destroys if the peer has not ended within closeTimeoutMs. */
  close(code: number, reason: string): void {
    if (this.#closing || this.#closed) return
    this.closeOverride ??= { code, reason }
    this.#closing = true
    const socket = this.socket
    if (socket.writable) {
      this.#sender.close(code, reason)
      socket.end()
    }
    this.#armCloseTimer()
  }

  /** Ends the socket at once (liveness failure), reporting `code`/`reason`. */
  terminate(code: number, reason: string): void {
    this.closeOverride ??= { code, reason }
    this.socket.destroy()
  }

  /**
   * Client liveness: the server announced its ping cadence (`welcome.limits`, via the kernel);
   * terminate when no ping arrives for pingIntervalMs + pingTimeoutMs of the SERVER's settings
   * (re-armed by every ping). Before that, the kernel's handshake deadline applies; a server that
   * announces no pings is never expected to ping.
   */
  expectPings(pingIntervalMs: number, pingTimeoutMs: number): void {
    if (this.#closed) return
    const ms = Math.min(pingIntervalMs + pingTimeoutMs, 2 ** 31 - 1)
    clearTimeout(this.#deadline)
    this.#deadline = setTimeout(deadlineExpired, ms, this, ms)
    this.#deadline.unref()
  }

  /**
   * Server: destroys the socket unless the client's preamble arrives within `ms` (an absolute
   * deadline). Not net's `socket.setTimeout`: an idle timeout, and the socket keeps its Timeout
   * (and the bound callback) for its whole life even once set to 0 — 150 bytes per connection.
   */
  awaitPreamble(ms: number): void {
    this.#deadline = setTimeout(destroySocket, ms, this.socket)
    this.#deadline.unref()
  }

  #armCloseTimer(): void {
    if (this.#closeTimer || this.#closed) return
    this.#closeTimer = setTimeout(destroySocket, this.#settings.closeTimeoutMs, this.socket)
    this.#closeTimer.unref()
  }

  // ---------------------------------------------------------------- FrameSink

  onPreamble(): void {
    this.#ready = true
    // A server's preamble deadline (awaitPreamble) is over: cleared and dropped. A client has none yet.
    clearTimeout(this.#deadline)
    this.#deadline = undefined
    const owner = this.#owner
    this.#owner = undefined
    owner?.ready(this)
  }

  onFrameMessage(body: Buffer, arrivedAt: number): void {
    if (this.#closed) return
    try {
      this.onMessage(body, arrivedAt)
    } catch (error) {
      rethrow(error)
    }
  }

  onPing(body: Buffer): void {
    this.#deadline?.refresh()
    if (!this.#closing && !this.#closed) this.#sender.pong(body)
  }

  onPong(): void {
    this.pingRound = 0
    this.receiver.trim()
  }

  onCloseFrame(code: number, reason: string): void {
    this.closeOverride ??= { code, reason }
    if (this.#closing) return
    this.#closing = true
    this.#sender.flush()
    if (this.socket.writable) this.socket.end()
    this.#armCloseTimer()
  }

  onFramingError(error: EchoError): void {
    const code = closeCodeOf(error)
    this.closeOverride ??= { code, reason: error.message }
    if (!this.#ready) {
      // Before the preambles: tell the owner now (a client rejects its connect at once instead of
      // waiting for the close handshake of a peer that may not even speak this framing).
      const owner = this.#owner
      this.#owner = undefined
      owner?.closedBeforeReady(this, code, error.message, error)
    }
    this.close(code, error.message)
  }

  // ---------------------------------------------------------------- socket events

  /** @internal */
  peerEnded(): void {
    if (this.#closing) return
    this.closeOverride ??= { code: TransportCloseCodes.abnormal, reason: 'connection lost: the peer ended the socket without a close frame' }
  }

  /** @internal the socket is gone: report once, release everything. */
  handleClose(): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#closeTimer)
    clearTimeout(this.#deadline)
    this.#registry?.delete(this)
    this.#sender.discard()
    this.receiver.stop()
    this.#releaseDrainWaiters()
    const error = this.socketError as NodeJS.ErrnoException | undefined
    const info = this.closeOverride ?? { code: TransportCloseCodes.abnormal, reason: `connection lost${error ? ` (${error.code ?? error.message})` : ' (no close frame)'}` }
    if (!this.#ready) {
      const owner = this.#owner
      this.#owner = undefined
      owner?.closedBeforeReady(this, info.code, info.reason, undefined)
      return
    }
    this.onClose(info.code, info.reason)
  }
}
