/**
 * One session's streams: id allocation (client odd, server even, as HTTP/2), the open handshake,
 * connection-level credit in both directions, the send pump, and dispatch of inbound frames.
 *
 * The pump sends one queued frame at a time, round-robin over writers whose head fits their own
 * credit and the connection's, and waits on `session.whenWritable()` before each frame while the
 * socket has bytes buffered, so the socket's buffer stays near its high-water mark and a stream
 * without credit never holds up another.
 */
import { authorize, createError, describe, EchoError, isPending, messageOf, type Codec, type EchoKernel, type Frame, type Logger, type SchemaCheck, type SchemaCompiler, type Session } from '@echostream/kernel'
import { FRAME_OVERHEAD } from './byte-size.js'
import { streamsError, StreamsErrorCodes } from './errors.js'
import { abortReason, creditOffset, fenceEpoch, openMeta, StreamFrames, streamId, openFrame } from './frames.js'
import type { StreamsOptions } from './options.js'
import { StreamReader } from './reader.js'
import { StreamWriter } from './writer.js'
import { ReadyList } from './ready-list.js'
import type { OpenOptions, SessionStreamList, SessionStreamStats, StreamContext, StreamHandler, StreamPolicy } from './types.js'
import { GRANT_FRACTION, ReceiveWindow, RoundTrip } from './window.js'

/** A large binary chunk is the data frame's tail: sent without an extra joined copy where the codec and transport allow (kernel SendOptions). */
const BINARY_TAIL = { binaryTail: true } as const

/** What every session's mux shares: the kernel, the options and the handlers. */
export interface StreamsContext {
  readonly kernel: EchoKernel
  readonly options: Readonly<StreamsOptions>
  readonly handlers: ReadonlyMap<string, StreamHandler>
  /** Per stream name: the schema its opener's `meta` must match (`handle(name, handler, { meta })`); the plugin always sets it. */
  readonly metaChecks?: Map<string, SchemaCheck>
  /** Compiles the meta schemas (one per kernel, so JSON Schema `$id`s stay local to it); the plugin always sets it. */
  readonly compiler?: SchemaCompiler
  readonly logger: Logger
}

interface PendingOpen {
  readonly name: string
  readonly meta: unknown
  readonly policy: StreamPolicy
  readonly highWaterMark: number
  readonly resolve: (writer: StreamWriter<never>) => void
  readonly reject: (error: EchoError) => void
  readonly cleanup: () => void
}

export class StreamMux {
  readonly session: Session
  readonly kernel: EchoKernel
  /** Sending, connection level: credit bytes sent, the peer's limit, and its window (first grant). */
  connSent = 0
  connMax = 0
  peerConnWindow = 0
  /**
   * Sending: the most bytes the framing of a data frame adds to its data, for the credit check
   * before sending (byte-size.ts); raised if a sent message ever turns out larger.
   */
  frameOverhead = FRAME_OVERHEAD
  /** Receiving, connection level: credit bytes received, consumed, granted. */
  connReceived = 0
  connConsumed = 0
  connGranted: number
  /** Receiving: the credit round trip (window.ts), shared by the connection's and every stream's window. */
  readonly rtt = new RoundTrip()
  /**
   * The window this session's streams last tuned to (0: none yet): where the next incoming stream
   * starts, instead of ramping up from `streamWindow` again (README "Auto-tuning").
   */
  #tunedStreamWindow = 0
  readonly #connWindow: ReceiveWindow

  readonly #ctx: StreamsContext
  readonly #peerParity: 0 | 1
  #nextId: number
  #highestPeerId = 0
  #connAnnounced = false
  /** Receiving: the peer reported it is blocked on our connection grant. */
  #connPeerBlocked = false
  /** Sending: the connMax we last reported being blocked at. */
  #connBlockedAt = -1
  readonly #opening = new Map<number, PendingOpen>()
  readonly #writers = new Map<number, StreamWriter<never>>()
  readonly #readers = new Map<number, StreamReader<never>>()
  /** Writers with queued frames that their own credit covers (insertion order = round-robin order). */
  readonly #ready = new ReadyList<StreamWriter<never>>()
  #pumping = false
  #closed: EchoError | undefined
  /** `stream.end`/`stream.abort` issued while the session was suspended: sent on resume. */
  #whileSuspended: Frame[] = []
  /**
   * After a resume on another server (README "Across a takeover"): the new server's streams epoch.
   * `fenced`: every stream frame from the peer is the old server's (or for it), replayed, and is
   * dropped until the peer's `stream.fence` with this epoch. `#fenceOut`: ours goes out before
   * the first stream frame this mux sends.
   */
  readonly #fence: string | undefined
  fenced: boolean
  #fenceOut: boolean

  /** `fence`: the new epoch, when this session just resumed on a server that does not have its streams. */
  constructor(ctx: StreamsContext, session: Session, fence?: string) {
    this.#fence = fence
    this.fenced = this.#fenceOut = fence !== undefined
    this.#ctx = ctx
    this.session = session
    this.kernel = ctx.kernel
    const client = ctx.kernel.role === 'client'
    this.#nextId = client ? 1 : 2
    this.#peerParity = client ? 0 : 1
    const { options } = ctx
    this.#connWindow = new ReceiveWindow(options.connectionWindow, options.maxConnectionWindow, this.rtt, performance.now())
    this.connGranted = this.#connWindow.size
  }

  get codec(): Codec | undefined {
    return this.kernel.codec
  }

  // ---------------------------------------------------------------- opening (this side writes)

  open<T>(name: string, meta?: unknown, options: OpenOptions = {}): Promise<StreamWriter<T>> {
    if (this.#closed) return Promise.reject(this.#closed)
    if (this.session.state !== 'open') {
      return Promise.reject(new EchoError(StreamsErrorCodes.E_CLOSED, `Cannot open stream '${name}': the session is ${this.session.state} (the connection is down). Open it once reconnected.`, { retryable: true }))
    }
    const peerPlugins = this.session.handshake.plugins as Record<string, unknown> | undefined
    if (peerPlugins !== undefined && peerPlugins.streams === undefined) {
      return Promise.reject(streamsError(StreamsErrorCodes.E_INCOMPATIBLE, `Cannot open stream '${name}': the peer does not load the streams plugin; add @echostream/plugin-streams on both sides.`))
    }
    const { options: defaults } = this.#ctx
    const policy = options.policy ?? 'block'
    if (policy !== 'block' && policy !== 'drop-oldest') {
      return Promise.reject(streamsError(StreamsErrorCodes.E_INVALID_ARGUMENT, `open('${name}'): policy must be 'block' or 'drop-oldest', got ${describe(policy)}.`))
    }
    const highWaterMark = options.highWaterMark ?? defaults.writeHighWaterMark
    const timeoutMs = options.timeoutMs ?? defaults.openTimeoutMs
    if (!(highWaterMark >= 0) || !(timeoutMs > 0)) {
      return Promise.reject(streamsError(StreamsErrorCodes.E_INVALID_ARGUMENT, `open('${name}'): highWaterMark must be >= 0 and timeoutMs > 0.`))
    }
    const signal = options.signal
    if (signal?.aborted) return Promise.reject(streamsError(StreamsErrorCodes.E_CANCELLED, `open('${name}') was cancelled before it started.`))
    const id = this.#nextId
    this.#nextId += 2
    return new Promise<StreamWriter<T>>((resolve, reject) => {
      const giveUp = (error: EchoError) => {
        if (!this.#opening.delete(id)) return
        pending.cleanup()
        // If the peer accepts later, it learns at once that nobody will write.
        this.sendFrame({ kind: StreamFrames.abort, id, payload: { code: error.code, message: error.message } })
        reject(error)
      }
      const timer = setTimeout(() => giveUp(streamsError(StreamsErrorCodes.E_TIMEOUT, `The peer did not accept stream '${name}' within ${timeoutMs} ms; is it overloaded? Raise options.streams.openTimeoutMs or open({ timeoutMs }).`)), timeoutMs)
      const onAbort = () => giveUp(streamsError(StreamsErrorCodes.E_CANCELLED, `open('${name}') was cancelled.`))
      signal?.addEventListener('abort', onAbort, { once: true })
      const pending: PendingOpen = {
        name,
        meta,
        policy,
        highWaterMark,
        resolve: resolve as (writer: StreamWriter<never>) => void,
        reject,
        cleanup: () => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
        },
      }
      this.#opening.set(id, pending)
      try {
        if (this.#fenceOut) this.#sendFence()
        this.session.send(openFrame(id, name, meta))
      } catch (error) {
        this.#opening.delete(id)
        pending.cleanup()
        reject(EchoError.from(error, StreamsErrorCodes.E_CLOSED))
      }
    })
  }

  // ---------------------------------------------------------------- inbound frames

  onOpen(frame: Frame): void {
    const id = streamId(frame)
    if (id % 2 !== this.#peerParity) throw this.#protocol(frame, `stream ${id} has the wrong parity: the client opens odd ids, the server even ones`)
    if (id <= this.#highestPeerId) throw this.#protocol(frame, `stream id ${id} is not above the last one opened (${this.#highestPeerId}): ids must increase`)
    this.#highestPeerId = id
    const { options, handlers } = this.#ctx
    const name = frame.name
    if (typeof name !== 'string' || name.length === 0 || name.length > options.maxNameLength) {
      return this.#refuse(id, streamsError(StreamsErrorCodes.E_PROTOCOL, `A stream name must be a non-empty string of at most ${options.maxNameLength} characters.`))
    }
    let meta: unknown
    try {
      meta = openMeta(frame)
    } catch (error) {
      return this.#refuse(id, error as EchoError)
    }
    const denied = authorize(this.kernel.hooks, { kind: 'stream', name }, this.session)
    if (denied) return this.#refuse(id, denied)
    const handler = handlers.get(name)
    if (!handler) {
      return this.#refuse(id, streamsError(StreamsErrorCodes.E_NO_HANDLER, `The ${this.kernel.role} has no handler for stream '${name}': register one with ${this.kernel.role}.streams.handle('${name}', handler) or defineStream('${name}', handler).`))
    }
    const metaCheck = this.#ctx.metaChecks?.get(name)
    if (metaCheck !== undefined) {
      const verdict = metaCheck(meta)
      // Opens are answered in order, so only a validator that answers at once can decide one.
      if (isPending(verdict)) return this.#refuse(id, streamsError(StreamsErrorCodes.E_CONFIG, `The meta schema of stream '${name}' answered asynchronously: stream meta schemas must validate synchronously (JSON Schema, or a Standard Schema without async checks).`))
      if (!verdict.ok) return this.#refuse(id, createError(StreamsErrorCodes.E_INVALID_PAYLOAD, `Stream '${name}' refused: ${verdict.problems.join('; ')}. Open it with meta that matches the stream's schema.`, { data: { stream: name, problems: verdict.problems } }))
      meta = verdict.value
    }
    if (this.#readers.size >= options.maxStreams) {
      return this.#refuse(id, streamsError(StreamsErrorCodes.E_STREAM_LIMIT, `Stream '${name}' refused: this session already has ${options.maxStreams} incoming streams open (maxStreams). End or cancel some first, or raise options.streams.maxStreams.`))
    }
    const window = new ReceiveWindow(options.streamWindow, options.maxStreamWindow, this.rtt, performance.now(), this.#tunedStreamWindow)
    this.streamWindow(window.size)
    const reader = new StreamReader<never>(this, id, name, meta, window)
    this.#readers.set(id, reader)
    if (!this.#connAnnounced) {
      this.#connAnnounced = true
      this.sendFrame({ kind: StreamFrames.connCredit, payload: this.connGranted })
    }
    // The accept grants `streamWindow` (the largest single write, whatever the window becomes);
    // a stream that starts at the session's tuned window gets the rest in a credit right after.
    this.sendFrame({ kind: StreamFrames.accept, id, payload: window.initial })
    reader.grantStart()
    this.#run(handler, reader, { session: this.session, name, meta, id, signal: reader.signal })
  }

  onAccept(frame: Frame): void {
    const id = streamId(frame)
    const pending = this.#opening.get(id)
    if (!pending) return // it timed out or was cancelled; our abort is on its way
    const window = creditOffset(frame)
    this.#opening.delete(id)
    pending.cleanup()
    const writer = new StreamWriter<never>(this, id, pending.name, pending.meta, window, pending.policy, pending.highWaterMark)
    this.#writers.set(id, writer)
    pending.resolve(writer)
  }

  /**
   * The hot path: validate, charge the connection and the stream with `size` (the byte length of
   * the message that carried the frame), queue for the reader.
   */
  onData(frame: Frame, size: number): void {
    const id = frame.id ?? 0
    const reader = this.#readers.get(id)
    if (!reader) return this.#dataForGone(frame, size)
    const payload = frame.payload as [unknown, unknown, unknown] | undefined
    if (!Array.isArray(payload) || payload.length !== 3) {
      return this.#violation(reader, StreamsErrorCodes.E_PROTOCOL, `Malformed 'stream.data' on stream ${id}: the payload must be [seq, wallTime, data], got ${describe(payload)}.`)
    }
    const [seq, wallTime, data] = payload
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0 || typeof wallTime !== 'number' || !Number.isFinite(wallTime)) {
      return this.#violation(reader, StreamsErrorCodes.E_PROTOCOL, `Malformed 'stream.data' on stream ${id}: seq must be a non-negative integer and wallTime a finite number (µs).`)
    }
    const charge = size
    this.connReceived += charge
    const connWindow = this.#connWindow
    connWindow.arrived(charge)
    if (connWindow.crosses(this.connReceived)) connWindow.crossed(performance.now())
    if (this.connReceived > this.connGranted) {
      this.consumed(charge)
      return this.#violation(reader, StreamsErrorCodes.E_FLOW_CONTROL, `The sender exceeded the connection's flow-control credit (${this.connGranted} bytes granted, ${this.connReceived} received): stream ${id} aborted. Senders must wait for stream.conncredit.`)
    }
    if (!reader.push({ wallTime, seq, data } as never, charge)) {
      this.consumed(charge)
      return this.#violation(reader, StreamsErrorCodes.E_FLOW_CONTROL, `The sender exceeded stream ${id}'s flow-control credit (${reader.maxOffset} bytes granted, ${reader.receivedOffset + charge} sent): stream aborted. Senders must wait for stream.credit.`)
    }
  }

  onCredit(frame: Frame): void {
    const writer = this.#writers.get(streamId(frame))
    if (writer && writer.credit(creditOffset(frame)) && writer.headCharge() !== undefined) this.schedule(writer)
  }

  onConnCredit(frame: Frame): void {
    const maxOffset = creditOffset(frame)
    // The first grant arrives before any data is sent, so it is the peer's whole window.
    if (this.peerConnWindow === 0) this.peerConnWindow = maxOffset
    if (maxOffset <= this.connMax) return
    this.connMax = maxOffset
    if (this.#ready.size > 0) void this.#pump()
  }

  onBlocked(frame: Frame): void {
    this.#readers.get(streamId(frame))?.blocked(creditOffset(frame))
  }

  onConnBlocked(frame: Frame): void {
    const limit = creditOffset(frame)
    this.#connWindow.blockedAt(limit)
    if (limit < this.connGranted) return // stale: our newer grant is on its way
    this.#connPeerBlocked = true
    // Everything was read and the sender waits at our limit: the window is what holds it back.
    if (this.connConsumed === this.connReceived) this.#connWindow.grow()
    this.#maybeGrantConn()
  }

  onEnd(frame: Frame): void {
    const id = streamId(frame)
    const reader = this.#readers.get(id)
    if (reader) {
      this.#readers.delete(id)
      reader.end()
    } else if (!this.#wasPeerStream(id)) throw this.#protocol(frame, `stream ${id} was never opened by this peer`)
  }

  onAbort(frame: Frame): void {
    const id = streamId(frame)
    const reason = abortReason(frame)
    this.#failById(id, streamsError(reason.code, reason.message))
  }

  /** The peer's `stream.fence`: what it sends from now on belongs to this session's streams here. A stale or repeated one changes nothing. */
  onFence(frame: Frame): void {
    if (this.fenced && fenceEpoch(frame) === this.#fence) this.fenced = false
  }

  /** An `error` frame answering one of our stream frames (e.g. the peer's kernel has no streams plugin). */
  onErrorFrame(error: EchoError, id: number | undefined): void {
    if (id !== undefined) this.#failById(id, error)
  }

  // ---------------------------------------------------------------- used by writers and readers

  /** Queues a writer for the pump and starts the pump if it is idle. */
  schedule(writer: StreamWriter<never> | StreamWriter<unknown>): void {
    const charge = writer.headCharge()
    if (charge === undefined) return
    if (writer.sentOffset + charge > writer.maxOffset) return this.#streamBlocked(writer)
    this.#ready.add(writer as StreamWriter<never>)
    if (!this.#pumping) void this.#pump()
  }

  /**
   * A write can go out at once, skipping the queue and the pump: no other writer waits for its
   * turn, the stream's and the connection's credit cover it, and the socket is below its
   * high-water mark. (The common case of a bulk writer that is not blocked: no promise, no
   * queue entry per chunk.)
   */
  canSendNow(writer: StreamWriter<unknown>, charge: number): boolean {
    return (
      this.#ready.size === 0 &&
      writer.sentOffset + charge <= writer.maxOffset &&
      this.connSent + charge <= this.connMax &&
      this.#closed === undefined &&
      this.session.state === 'open' &&
      this.session.writable
    )
  }

  /**
   * A data frame leaves (its credit checked with the upper bound `estimate`): returns its charge,
   * the byte length `session.send` encoded, and counts it against the connection. `binaryTail`:
   * the data is a large binary (the same bytes leave, in fewer copies). Throws what
   * `send` throws (nothing was sent then).
   */
  sendData(frame: Frame, estimate: number, binaryTail: boolean): number {
    if (this.#fenceOut) this.#sendFence()
    const size = this.session.send(frame, binaryTail ? BINARY_TAIL : undefined)
    this.connSent += size
    if (size > estimate) {
      // An outbound tap made it larger than framing can: bound the next ones by what we saw.
      this.frameOverhead += size - estimate
      this.#ctx.logger.warn(`streams: a '${frame.kind}' message was ${size - estimate} bytes larger than its bound; an outbound tap that enlarges stream data can break flow control.`)
    }
    return size
  }

  /**
   * Sends a control frame; a closed session is reported by the disconnect hook, not here. While
   * the session is suspended (reconnect), nothing is sent: credit is re-announced on resume, and
   * ends and aborts wait for it, so nothing of ours sits in a replay queue that a session which is
   * not recovered would deliver to its successor.
   */
  sendFrame(frame: Frame): void {
    if (this.#closed) return
    if (this.session.state === 'suspended') {
      if (frame.kind === StreamFrames.end || frame.kind === StreamFrames.abort) this.#whileSuspended.push(frame)
      return
    }
    if (this.session.state !== 'open') return
    try {
      if (this.#fenceOut) this.#sendFence()
      this.session.send(frame)
    } catch (error) {
      this.#ctx.logger.error(`streams: cannot send '${frame.kind}' on session ${this.session.id}: ${messageOf(error)}`)
    }
  }

  /** The application consumed (or a stream discarded) `charge` bytes. */
  consumed(charge: number): void {
    this.connConsumed += charge
    this.#maybeGrantConn()
  }

  /**
   * A stream's window is now `size`: the connection's stays at least twice the largest, so one
   * stream that stops reading with its window full never takes all of the connection's credit.
   */
  streamWindow(size: number): void {
    this.#connWindow.atLeast(2 * size)
    this.#tunedStreamWindow = size
  }

  forgetWriter(writer: StreamWriter<never> | StreamWriter<unknown>): void {
    if (this.#writers.get(writer.id) === writer) this.#writers.delete(writer.id)
    this.#ready.delete(writer as StreamWriter<never>)
  }

  forgetReader(reader: StreamReader<never> | StreamReader<unknown>): void {
    if (this.#readers.get(reader.id) === reader) this.#readers.delete(reader.id)
  }

  /**
   * The suspended session is open again with everything in flight replayed (reconnect, recovered):
   * re-announce every grant (absolute offsets, so repeats are harmless), send what waited, and
   * start sending data again.
   */
  resumed(): void {
    if (this.#closed) return
    if (this.#connAnnounced) this.sendFrame({ kind: StreamFrames.connCredit, payload: this.connGranted })
    for (const reader of this.#readers.values()) {
      if (reader.state === 'open') this.sendFrame({ kind: StreamFrames.credit, id: reader.id, payload: reader.maxOffset })
    }
    for (const frame of this.#whileSuspended.splice(0)) this.sendFrame(frame)
    this.#connBlockedAt = -1
    for (const writer of this.#writers.values()) {
      writer.blockedAt = -1
      this.schedule(writer)
    }
  }

  /** The session is gone (or the plugin unloads): every open, writer and unfinished reader fails with `error`. */
  close(error: EchoError): void {
    if (this.#closed) return
    this.#closed = error
    for (const pending of this.#opening.values()) {
      pending.cleanup()
      pending.reject(error)
    }
    this.#opening.clear()
    this.#whileSuspended = []
    for (const writer of [...this.#writers.values()]) writer.fail(error)
    for (const reader of [...this.#readers.values()]) reader.fail(error)
    this.#ready.clear()
  }

  /** Every stream's own counters (devtools, diagnostics): writers being opened are not listed yet. */
  list(): SessionStreamList {
    return { writers: [...this.#writers.values()].map((w) => w.stats()), readers: [...this.#readers.values()].map((r) => r.stats()) }
  }

  stats(): SessionStreamStats {
    return {
      writers: this.#writers.size + this.#opening.size,
      readers: this.#readers.size,
      send: { sentOffset: this.connSent, maxOffset: this.connMax, window: this.peerConnWindow },
      receive: {
        receivedOffset: this.connReceived,
        consumedOffset: this.connConsumed,
        unreadBytes: this.connReceived - this.connConsumed,
        maxOffset: this.connGranted,
        window: this.#connWindow.size,
        rttMs: this.rtt.ms,
      },
      bufferedAmount: this.session.state === 'open' ? this.session.bufferedAmount : 0,
    }
  }

  // ---------------------------------------------------------------- internals

  /**
   * Our `stream.fence`, before our first stream frame after a resume on another server: it
   * follows everything replayed from the old server (the cluster replays it right after
   * `welcome`; reconnect before the streams plugin's `resumed` tap), so the peer can tell the old
   * streams' frames from ours. Throws what `send` throws (the caller's frame is not sent either).
   */
  #sendFence(): void {
    this.session.send({ kind: StreamFrames.fence, payload: this.#fence })
    this.#fenceOut = false
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return
    this.#pumping = true
    try {
      while (this.#ready.size > 0) {
        // Below everything: the socket's own buffer. Below its high-water mark there is nothing
        // to wait for: no microtask per frame.
        if (!this.session.writable) await this.session.whenWritable()
        if (this.#closed || this.session.state !== 'open') return
        const writer = this.#pick()
        if (!writer) return
        writer.sendHead()
        // Round-robin: a writer that sent goes to the back of the line.
        this.#ready.delete(writer)
        this.schedule(writer)
      }
    } catch (error) {
      this.#ctx.logger.error(`streams: send pump failed on session ${this.session.id}: ${messageOf(error)}`)
    } finally {
      this.#pumping = false
    }
  }

  /** The first ready writer whose head fits the connection's credit; drops writers that lost their credit. */
  #pick(): StreamWriter<never> | undefined {
    const ready = this.#ready
    for (let i = 0; i < ready.size; ) {
      const writer = ready.at(i)!
      const charge = writer.headCharge()
      if (charge === undefined || writer.state === 'aborted') {
        ready.removeAt(i) // re-added by its next write
        continue
      }
      if (writer.sentOffset + charge > writer.maxOffset) {
        ready.removeAt(i) // re-added by its next credit
        this.#streamBlocked(writer)
        continue
      }
      if (this.connSent + charge <= this.connMax) return writer
      this.#connBlocked()
      i++
    }
    return undefined
  }

  /** Tells the receiver once per limit that this writer waits for stream credit. */
  #streamBlocked(writer: StreamWriter<never> | StreamWriter<unknown>): void {
    if (writer.blockedAt === writer.maxOffset) return
    writer.blockedAt = writer.maxOffset
    this.sendFrame({ kind: StreamFrames.blocked, id: writer.id, payload: writer.maxOffset })
  }

  /** Tells the receiver once per limit that a writer waits for connection credit. */
  #connBlocked(): void {
    if (this.#connBlockedAt === this.connMax) return
    this.#connBlockedAt = this.connMax
    this.sendFrame({ kind: StreamFrames.connBlocked, payload: this.connMax })
  }

  /**
   * Grants connConsumed + window once a quarter of the window was read since the last grant
   * (GRANT_FRACTION; tuning the window first, window.ts), or at once when the peer reports it is blocked: streams that hold
   * unread data can keep the connection below the half-window threshold while the blocked
   * stream's data was all read. At most one grant per report, and the sender reports once per limit.
   */
  #maybeGrantConn(): void {
    const window = this.#connWindow
    const consumed = this.connConsumed
    const credit = window.credit
    if (consumed + credit - this.connGranted < credit * GRANT_FRACTION && !(this.#connPeerBlocked && consumed + credit > this.connGranted)) return
    const now = performance.now()
    const next = consumed + window.update(consumed, now)
    if (next <= this.connGranted) return
    window.granted(this.connGranted, now)
    this.connGranted = next
    this.#connPeerBlocked = false
    if (this.#connAnnounced) this.sendFrame({ kind: StreamFrames.connCredit, payload: next })
  }

  #run(handler: StreamHandler, reader: StreamReader<never>, ctx: StreamContext): void {
    const fail = (error: unknown) => {
      const echo = EchoError.from(error, StreamsErrorCodes.E_INTERNAL)
      if (reader.state === 'open' || reader.state === 'ended') {
        this.#ctx.logger.warn(`streams: handler of '${ctx.name}' failed: ${echo.message}`)
        reader.cancel(echo.code, echo.message)
      }
    }
    try {
      const result = handler(reader, ctx) as Promise<unknown> | undefined
      if (result && typeof result.then === 'function') result.then(undefined, fail)
    } catch (error) {
      fail(error)
    }
  }

  #refuse(id: number, error: EchoError): void {
    this.sendFrame({ kind: StreamFrames.abort, id, payload: { code: error.code, message: error.message } })
  }

  #violation(reader: StreamReader<never>, code: string, message: string): void {
    const error = streamsError(code, message)
    this.#readers.delete(reader.id)
    this.sendFrame({ kind: StreamFrames.abort, id: reader.id, payload: { code, message } })
    reader.fail(error)
  }

  /**
   * Data for a stream this side already closed or refused (in flight when it ended): count its
   * size, drop it. Nothing in it is looked at.
   */
  #dataForGone(frame: Frame, size: number): void {
    const id = frame.id
    if (id === undefined || !this.#wasPeerStream(id)) throw this.#protocol(frame, `stream ${describe(id)} was never opened by this peer`)
    this.connReceived += size
    this.consumed(size)
  }

  #wasPeerStream(id: number): boolean {
    return id % 2 === this.#peerParity && id <= this.#highestPeerId
  }

  #failById(id: number, error: EchoError): void {
    if (id % 2 !== this.#peerParity) {
      const pending = this.#opening.get(id)
      if (pending) {
        this.#opening.delete(id)
        pending.cleanup()
        pending.reject(error)
        return
      }
      this.#writers.get(id)?.fail(error)
    } else {
      this.#readers.get(id)?.fail(error)
    }
  }

  #protocol(frame: Frame, why: string): EchoError {
    return streamsError(StreamsErrorCodes.E_PROTOCOL, `Bad '${frame.kind}' frame: ${why}.`)
  }
}
