/**
 * The sending end of a stream. Writes queue in order and leave only when both the stream's and
 * the connection's credit cover them and the socket is below its high-water mark (the session's
 * pump decides; see mux.ts). `write()` resolves once its frame is handed to the socket.
 */
import type { Writable } from 'node:stream'
import { describe, EchoError, messageOf, type Frame, type Session } from '@echostream/kernel'
import { asBytes, dataSize } from './byte-size.js'
import { wallNow } from './clock.js'
import { streamsError, StreamsErrorCodes } from './errors.js'
import { StreamFrames } from './frames.js'
import { toNodeWritable, toWebWritable, type NodeWritableOptions, type WebWritableOptions } from './adapters.js'
import type { StreamMux } from './mux.js'
import type { StreamPolicy, WriteOptions, WriterState, WriterStats } from './types.js'

/** One write waiting in the queue. */
interface PendingWrite {
  readonly data: unknown
  readonly seq: number
  readonly wallTime: number
  /** The upper bound of its charge (data + framing), for the credit check; the charge is what `send` encodes. */
  readonly charge: number
  /** Its data's bytes (what `queuedBytes`, `droppedBytes` and `highWaterMark` count). */
  readonly size: number
  readonly resolve?: () => void
  readonly reject?: (error: EchoError) => void
}

const RESOLVED = Promise.resolve()

/**
 * Binary data at least this large is sent as the frame's binary tail (SendOptions.binaryTail): the
 * codec and transport may keep it out of a joined copy of the message. Below it a copy is cheaper
 * than the second pass over the frame it costs when the codec declines (msgpack takes ≥ 4 KiB).
 */
const TAIL_BYTES = 4096

/**
 * A writer that never has to wait sends from a chain of resolved promises: microtasks, in which
 * its own event loop reads nothing, so the peer's credit piles up unread in the socket until the
 * window runs out. After this many bytes sent without waiting, a write resolves on the next turn
 * of the event loop instead (setImmediate), so incoming frames are handled in between.
 */
const YIELD_EVERY_BYTES = 1 << 20
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

export class StreamWriter<T = unknown> {
  readonly id: number
  readonly name: string
  readonly meta: unknown
  readonly session: Session
  readonly policy: StreamPolicy
  /** Bytes this writer queues locally (drop-oldest bound; adapters' default highWaterMark). */
  readonly highWaterMark: number
  /** @internal credit bytes sent */
  sentOffset = 0
  /** @internal the peer's credit limit */
  maxOffset: number
  /** @internal the maxOffset we last reported being blocked at (one `stream.blocked` per limit) */
  blockedAt = -1
  /** The peer's initial window for this stream (its first credit): a single write must fit it, framing included. */
  readonly window: number

  readonly #mux: StreamMux
  readonly #abort = new AbortController()
  #state: WriterState = 'open'
  #error: EchoError | undefined
  #queue: Array<PendingWrite | undefined> = []
  #head = 0
  #queuedBytes = 0
  #seq = 0
  #dropped = 0
  #droppedBytes = 0
  /** Bytes sent by writes that did not wait since the last one that did (see YIELD_EVERY_BYTES). */
  #unyielded = 0
  #ended: { promise: Promise<void>; resolve(): void; reject(error: EchoError): void } | undefined

  /** @internal made by the session's mux when the peer accepts */
  constructor(mux: StreamMux, id: number, name: string, meta: unknown, window: number, policy: StreamPolicy, highWaterMark: number) {
    this.#mux = mux
    this.session = mux.session
    this.id = id
    this.name = name
    this.meta = meta
    this.window = window
    this.maxOffset = window
    this.policy = policy
    this.highWaterMark = highWaterMark
  }

  get state(): WriterState {
    return this.#state
  }

  /** Aborted (with the EchoError as its reason) when the stream fails: peer cancel, disconnect, `abort()`. */
  get signal(): AbortSignal {
    return this.#abort.signal
  }

  /**
   * Queues one frame. Resolves once it is sent (block policy: waits for credit and for the
   * socket), at once with 'drop-oldest'. Rejects with the stream's error once it failed.
   */
  write(data: T, options?: WriteOptions): Promise<void> {
    if (this.#error) return Promise.reject(this.#error)
    if (this.#state !== 'open') {
      return Promise.reject(streamsError(StreamsErrorCodes.E_STATE, `Cannot write to stream '${this.name}' (${this.id}): it is ${this.#state}. Open a new stream to send more.`))
    }
    const value = asBytes(data)
    let size: number
    try {
      size = dataSize(value, this.#mux.codec)
    } catch (error) {
      return Promise.reject(streamsError(StreamsErrorCodes.E_CODEC, `Cannot write ${describe(value)} to stream '${this.name}': the codec cannot encode it (${messageOf(error)}). Write binary, strings or plain data.`, error))
    }
    // Checked against credit before sending: the data plus the most its framing can add.
    const charge = size + this.#mux.frameOverhead
    const tooLarge = this.#tooLarge(charge)
    if (tooLarge) return Promise.reject(tooLarge)
    let wallTime: number
    if (options?.wallTime === undefined) wallTime = wallNow(this.#mux.kernel)
    else if (typeof options.wallTime === 'number' && Number.isFinite(options.wallTime)) wallTime = options.wallTime
    else return Promise.reject(streamsError(StreamsErrorCodes.E_INVALID_ARGUMENT, `write(data, { wallTime }): wallTime must be a finite number of µs, got ${describe(options.wallTime)}.`))
    const seq = this.#seq++
    // Nothing queued ahead, credit and socket allow it: sent now, with no queue entry and no promise.
    if (this.#head === this.#queue.length && this.#mux.canSendNow(this, charge)) {
      const failed = this.#send(value, seq, wallTime, charge)
      if (failed) return Promise.reject(failed)
      if ((this.#unyielded += charge) < YIELD_EVERY_BYTES) return RESOLVED
      this.#unyielded = 0
      return nextTurn()
    }
    this.#unyielded = 0
    if (this.policy === 'drop-oldest') {
      this.#enqueue({ data: value, seq, wallTime, charge, size })
      this.#dropExcess()
      this.#mux.schedule(this)
      return RESOLVED
    }
    return new Promise<void>((resolve, reject) => {
      this.#enqueue({ data: value, seq, wallTime, charge, size, resolve, reject })
      this.#mux.schedule(this)
    })
  }

  /** Sends `stream.end` after every queued write; resolves once it is sent. */
  end(): Promise<void> {
    if (this.#error) return Promise.reject(this.#error)
    if (this.#ended) return this.#ended.promise
    if (this.#state === 'ended') return RESOLVED
    let resolve!: () => void
    let reject!: (error: EchoError) => void
    const promise = new Promise<void>((res, rej) => {
      resolve = res
      reject = rej
    })
    this.#ended = { promise, resolve, reject }
    this.#state = 'ending'
    this.finishIfDrained()
    return promise
  }

  /**
   * Abandons the stream: queued writes reject with the code, the peer's iterator throws it.
   * Nothing happens once the stream ended or failed.
   */
  abort(code: string = StreamsErrorCodes.E_CANCELLED, message?: string): void {
    if (this.#state === 'ended' || this.#error) return
    const error = streamsError(code, message ?? `The sender aborted stream '${this.name}' (${code}).`)
    this.#mux.sendFrame({ kind: StreamFrames.abort, id: this.id, payload: { code: error.code, message: error.message } })
    this.fail(error)
  }

  stats(): WriterStats {
    return {
      id: this.id,
      name: this.name,
      state: this.#state,
      policy: this.policy,
      nextSeq: this.#seq,
      sentOffset: this.sentOffset,
      maxOffset: this.maxOffset,
      window: this.window,
      queuedFrames: this.#queue.length - this.#head,
      queuedBytes: this.#queuedBytes,
      droppedFrames: this.#dropped,
      droppedBytes: this.#droppedBytes,
      waitingFor: this.#waitingFor(),
    }
  }

  /** A Node `Writable` over this stream: `write()` returns false above `highWaterMark`, callbacks wait for credit. */
  toNodeWritable(options?: NodeWritableOptions): Writable {
    return toNodeWritable(this, options)
  }

  /** A WHATWG `WritableStream` over this stream; `writer.ready` waits for credit. */
  toWebWritable(options?: WebWritableOptions): WritableStream<T> {
    return toWebWritable(this, options)
  }

  // ---------------------------------------------------------------- used by the mux

  /** @internal the queue head's credit cost, or undefined when nothing is queued */
  headCharge(): number | undefined {
    return this.#queue[this.#head]?.charge
  }

  /** @internal sends the queue head (the mux checked credit and the socket) */
  sendHead(): void {
    const entry = this.#queue[this.#head]
    if (!entry) return
    this.#queue[this.#head++] = undefined
    this.#compact()
    this.#queuedBytes -= entry.size
    const failed = this.#send(entry.data, entry.seq, entry.wallTime, entry.charge)
    if (failed) return entry.reject?.(failed)
    entry.resolve?.()
    this.finishIfDrained()
  }

  /**
   * Sends one data frame and charges what it encoded to. When the kernel refuses it (nothing was
   * sent), the stream cannot go on with a hole in it: it is aborted with that error, which is returned.
   */
  #send(data: unknown, seq: number, wallTime: number, estimate: number): EchoError | undefined {
    const frame: Frame = { kind: StreamFrames.data, id: this.id, payload: [seq, wallTime, data] }
    let size: number
    try {
      size = this.#mux.sendData(frame, estimate, data instanceof Uint8Array && data.byteLength >= TAIL_BYTES)
    } catch (error) {
      const echo = EchoError.from(error, StreamsErrorCodes.E_INTERNAL)
      this.abort(echo.code, `Stream '${this.name}' aborted: a frame could not be sent (${echo.message}).`)
      return this.#error ?? echo
    }
    this.sentOffset += size
    return undefined
  }

  /** E_PAYLOAD_TOO_LARGE when a write of `charge` bytes can never be sent, naming the limit to raise. */
  #tooLarge(charge: number): EchoError | undefined {
    const connWindow = this.#mux.peerConnWindow
    const maxPayload = this.session.peerMaxPayload
    if (charge <= this.window && charge <= connWindow && charge <= maxPayload) return undefined // the hot path: no strings built
    const what =
      charge > this.window
        ? `the receiver's stream window (${this.window} bytes): write smaller chunks, or raise the receiver's options.streams.streamWindow`
        : charge > connWindow
          ? `the receiver's connection window (${connWindow} bytes): write smaller chunks, or raise the receiver's options.streams.connectionWindow`
          : `the largest message the peer accepts (${maxPayload} bytes, its transport's maxPayload): write smaller chunks`
    return streamsError(StreamsErrorCodes.E_PAYLOAD_TOO_LARGE, `A write of ${charge} bytes (data and framing) to stream '${this.name}' exceeds ${what}.`)
  }

  /** @internal a credit update: absolute, so a repeated or reordered one changes nothing */
  credit(maxOffset: number): boolean {
    if (maxOffset <= this.maxOffset) return false
    this.maxOffset = maxOffset
    return true
  }

  /** @internal sends `stream.end` once `end()` was called and the queue is empty */
  finishIfDrained(): void {
    if (this.#state !== 'ending' || this.#head < this.#queue.length) return
    this.#state = 'ended'
    this.#mux.sendFrame({ kind: StreamFrames.end, id: this.id })
    this.#mux.forgetWriter(this)
    this.#ended?.resolve()
  }

  /** @internal the stream failed: reject what waits, remember the error for later calls */
  fail(error: EchoError): void {
    if (this.#error || this.#state === 'ended') return
    this.#error = error
    this.#state = 'aborted'
    const queue = this.#queue
    this.#queue = []
    this.#head = 0
    this.#queuedBytes = 0
    for (const entry of queue) entry?.reject?.(error)
    this.#ended?.reject(error)
    // An end() nobody awaits must not become an unhandled rejection.
    this.#ended?.promise.catch(() => {})
    this.#mux.forgetWriter(this)
    this.#abort.abort(error)
  }

  // ---------------------------------------------------------------- queue

  #enqueue(entry: PendingWrite): void {
    this.#queue.push(entry)
    this.#queuedBytes += entry.size
  }

  /** 'drop-oldest': keep the queue within highWaterMark, never dropping the newest frame. */
  #dropExcess(): void {
    while (this.#queuedBytes > this.highWaterMark && this.#queue.length - this.#head > 1) {
      const oldest = this.#queue[this.#head]!
      this.#queue[this.#head++] = undefined
      this.#queuedBytes -= oldest.size
      this.#dropped++
      this.#droppedBytes += oldest.size
    }
    this.#compact()
  }

  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0
      this.#head = 0
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
  }

  #waitingFor(): WriterStats['waitingFor'] {
    const charge = this.headCharge()
    if (charge === undefined) return null
    if (this.sentOffset + charge > this.maxOffset) return 'stream-credit'
    if (this.#mux.connSent + charge > this.#mux.connMax) return 'connection-credit'
    return 'socket'
  }
}

