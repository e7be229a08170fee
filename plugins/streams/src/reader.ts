/**
 * The receiving end of a stream: an async iterator of `{ wallTime, seq, data }`. Frames wait here
 * until the application reads them; each read returns their credit and, once half the window is
 * used, sends the sender a new `maxOffset`, so unread data never exceeds the window.
 */
import type { Readable } from 'node:stream'
import type { EchoError, Session } from '@echostream/kernel'
import { streamsError, StreamsErrorCodes } from './errors.js'
import { StreamFrames } from './frames.js'
import { toNodeReadable, toWebReadable, type NodeReadableOptions, type WebReadableOptions } from './adapters.js'
import { StreamPlayout, type StreamPlayoutOptions } from './stream-playout.js'
import type { StreamMux } from './mux.js'
import type { ReaderState, ReaderStats, StreamFrame } from './types.js'
import { GRANT_FRACTION, type ReceiveWindow } from './window.js'
import { FrameQueue } from './frame-queue.js'

/** A pending `read()` (resolved with a frame or undefined) or iterator `next()` (with an IteratorResult). */
interface Waiter<T> {
  resolve(value: StreamFrame<T> | undefined | IteratorResult<StreamFrame<T>, undefined>): void
  reject(error: EchoError): void
  readonly iterating: boolean
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined })

export class StreamReader<T = unknown> implements AsyncIterable<StreamFrame<T>> {
  readonly id: number
  readonly name: string
  readonly meta: unknown
  readonly session: Session
  /** @internal credit bytes received / read by the application / granted to the sender */
  receivedOffset = 0
  consumedOffset = 0
  maxOffset: number

  readonly #mux: StreamMux
  /** The auto-tuned window (window.ts): the most unread credit bytes the next grant allows. */
  readonly #window: ReceiveWindow
  readonly #abort = new AbortController()
  #state: ReaderState = 'open'
  #error: EchoError | undefined
  #frames = new FrameQueue<StreamFrame<T>>()
  #waiters: Array<Waiter<T>> = []
  /**
   * The pending iterator step, when it is the only waiter (the `for await` case): kept in fields
   * rather than a Waiter object per chunk. Always older than anything in #waiters.
   */
  #stepResolve: ((result: unknown) => void) | undefined
  #stepReject: ((error: EchoError) => void) | undefined
  #framesReceived = 0
  /** The sender said it is blocked at our current maxOffset: grant at the next read, whatever the threshold. */
  #peerBlocked = false

  /** @internal made by the session's mux when it accepts the peer's open */
  constructor(mux: StreamMux, id: number, name: string, meta: unknown, window: ReceiveWindow) {
    this.#mux = mux
    this.session = mux.session
    this.id = id
    this.name = name
    this.meta = meta
    this.#window = window
    this.maxOffset = window.initial
  }

  /** @internal right after the accept (which granted `initial`): grants the window it starts at, when larger. */
  grantStart(): void {
    const size = this.#window.size
    if (size <= this.maxOffset) return
    this.maxOffset = size
    this.#mux.sendFrame({ kind: StreamFrames.credit, id: this.id, payload: size })
  }

  /** This stream's current window (auto-tuned between `streamWindow` and `maxStreamWindow`): the most unread credit bytes a grant allows. */
  get window(): number {
    return this.#window.size
  }

  get state(): ReaderState {
    return this.#state
  }

  /** Aborted (with the EchoError as its reason) when the stream fails or is cancelled. */
  get signal(): AbortSignal {
    return this.#abort.signal
  }

  /** The next frame; `undefined` once the sender ended (or this side cancelled). Rejects with the stream's error. */
  read(): Promise<StreamFrame<T> | undefined> {
    if (this.#frames.size > 0) return Promise.resolve(this.#take())
    if (this.#error) return Promise.reject(this.#error)
    if (this.#state !== 'open') return Promise.resolve(undefined)
    return new Promise((resolve, reject) => this.#waiters.push({ resolve: resolve as Waiter<T>['resolve'], reject, iterating: false }))
  }

  /** `read()` as an iterator step: one promise per frame, settled with the IteratorResult itself. */
  #next(): Promise<IteratorResult<StreamFrame<T>, undefined>> {
    if (this.#frames.size > 0) return Promise.resolve({ done: false, value: this.#take() })
    if (this.#error) return Promise.reject(this.#error)
    if (this.#state !== 'open') return Promise.resolve(DONE)
    if (this.#stepResolve === undefined && this.#waiters.length === 0) {
      return new Promise((resolve, reject) => {
        this.#stepResolve = resolve as (result: unknown) => void
        this.#stepReject = reject
      })
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve: resolve as Waiter<T>['resolve'], reject, iterating: true }))
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamFrame<T>, undefined> & AsyncIterable<StreamFrame<T>> {
    const iterator = {
      next: (): Promise<IteratorResult<StreamFrame<T>, undefined>> => this.#next(),
      /**
       * Leaving a `for await` loop early cancels the stream (as Node's readable iterator destroys
       * its stream). Deferred one turn, so a handler that left by throwing cancels with its own code.
       */
      return: (): Promise<IteratorReturnResult<undefined>> => {
        if (this.#state === 'open' || this.#state === 'ended') {
          setTimeout(() => this.cancel(StreamsErrorCodes.E_CANCELLED, `The receiver of stream '${this.name}' stopped reading.`), 0)
        }
        return Promise.resolve(DONE)
      },
      [Symbol.asyncIterator]: () => iterator,
    }
    return iterator
  }

  /**
   * Stops receiving: unread frames are discarded, the sender's pending writes reject with `code`.
   * This side's reads then end cleanly. Nothing happens once the stream finished or failed.
   */
  cancel(code: string = StreamsErrorCodes.E_CANCELLED, message?: string): void {
    if (this.#state === 'done' || this.#state === 'cancelled' || this.#state === 'aborted') return
    const error = streamsError(code, message ?? `The receiver cancelled stream '${this.name}' (${code}).`)
    // After `stream.end` the sender has already gone; it needs no answer.
    if (this.#state === 'open') this.#mux.sendFrame({ kind: StreamFrames.abort, id: this.id, payload: { code: error.code, message: error.message } })
    this.#state = 'cancelled'
    this.#discard()
    this.#endWaiters()
    this.#mux.forgetReader(this)
    this.#abort.abort(error)
  }

  stats(): ReaderStats {
    return {
      id: this.id,
      name: this.name,
      state: this.#state,
      receivedOffset: this.receivedOffset,
      consumedOffset: this.consumedOffset,
      unreadBytes: this.receivedOffset - this.consumedOffset,
      unreadFrames: this.#frames.size,
      maxOffset: this.maxOffset,
      window: this.#window.size,
      framesReceived: this.#framesReceived,
    }
  }

  /** A Node `Readable`: byte chunks by default, `{ mode: 'frames' }` for frame objects. Reads only as Node asks. */
  toNodeReadable(options?: NodeReadableOptions): Readable {
    return toNodeReadable(this, options)
  }

  /** A WHATWG `ReadableStream`: byte chunks by default, `{ mode: 'frames' }` for frame objects. Pull-based. */
  toWebReadable(options?: WebReadableOptions): ReadableStream {
    return toWebReadable(this, options)
  }

  /**
   * Feeds this stream through a jitter buffer and yields `{ kind: 'frame', frame, playoutAt }` at
   * each frame's playout time and `{ kind: 'gap', gap }` for missing seqs. Reads the stream itself.
   */
  playout(options?: StreamPlayoutOptions): StreamPlayout<T> {
    return new StreamPlayout(this, this.#mux.kernel, options)
  }

  // ---------------------------------------------------------------- used by the mux

  /** @internal one data frame; false when it exceeds the stream's credit (nothing is kept) */
  push(frame: StreamFrame<T>, charge: number): boolean {
    if (this.receivedOffset + charge > this.maxOffset) return false
    this.receivedOffset += charge
    const window = this.#window
    window.arrived(charge)
    if (window.crosses(this.receivedOffset)) window.crossed(performance.now())
    this.#framesReceived++
    const step = this.#stepResolve
    if (step) {
      this.#stepResolve = this.#stepReject = undefined
      this.#consume(charge)
      step({ done: false, value: frame })
      return true
    }
    const waiter = this.#waiters.shift()
    if (waiter) {
      this.#consume(charge)
      waiter.resolve(waiter.iterating ? { done: false, value: frame } : frame)
    } else this.#frames.push(frame, charge)
    return true
  }

  /** @internal `stream.blocked` arrived: the sender waits for credit beyond `limit` */
  blocked(limit: number): void {
    this.#window.blockedAt(limit)
    // A stale report (our newer grant crossed it on the wire) needs no answer.
    if (this.#state !== 'open' || limit < this.maxOffset) return
    this.#peerBlocked = true
    // Everything was read and the sender waits at our limit: the window is what holds it back.
    if (this.consumedOffset === this.receivedOffset) this.#window.grow()
    this.#maybeGrant()
  }

  /** @internal `stream.end` arrived: reads end once the queue is drained */
  end(): void {
    if (this.#state !== 'open') return
    this.#state = 'ended'
    if (this.#frames.size === 0) this.#finish()
  }

  /** @internal the peer aborted, the session closed, or the peer broke flow control */
  fail(error: EchoError): void {
    if (this.#state !== 'open' && this.#state !== 'ended') return
    // Everything the sender wrote has arrived: a disconnect after `stream.end` loses nothing.
    if (this.#state === 'ended' && error.code === StreamsErrorCodes.E_CLOSED) return
    this.#state = 'aborted'
    this.#error = error
    this.#discard()
    const step = this.#stepReject
    this.#stepResolve = this.#stepReject = undefined
    step?.(error)
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error)
    this.#mux.forgetReader(this)
    this.#abort.abort(error)
  }

  // ---------------------------------------------------------------- queue

  #take(): StreamFrame<T> {
    const frames = this.#frames
    const frame = frames.shift()!
    const charge = frames.charge
    if (frames.size === 0 && this.#state === 'ended') this.#finish()
    this.#consume(charge)
    return frame
  }

  /** Settles every pending read with the end of the stream. */
  #endWaiters(): void {
    const step = this.#stepResolve
    this.#stepResolve = this.#stepReject = undefined
    step?.(DONE)
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(waiter.iterating ? DONE : undefined)
  }

  /** The application took `charge` bytes: return them to the stream and the connection. */
  #consume(charge: number): void {
    this.consumedOffset += charge
    if (this.#state === 'open') this.#maybeGrant()
    this.#mux.consumed(charge)
  }

  /**
   * Raises maxOffset to consumed + window once a quarter of the window was read since the last
   * grant (GRANT_FRACTION: few credit frames, slack for late readers), tuning the window first
   * (window.ts). And when the sender reports it is
   * blocked and the application has read everything: nothing more can arrive then, so a write
   * larger than the remaining half window would otherwise wait forever. (Granting on every read
   * while blocked would send one credit frame per data frame.)
   */
  #maybeGrant(): void {
    const window = this.#window
    const consumed = this.consumedOffset
    const credit = window.credit
    if (consumed + credit - this.maxOffset < credit * GRANT_FRACTION && !(this.#peerBlocked && consumed === this.receivedOffset)) return
    const now = performance.now()
    const next = consumed + window.update(consumed, now)
    this.#mux.streamWindow(window.size)
    // A window that shrank may have nothing to grant yet.
    if (next <= this.maxOffset) return
    window.granted(this.maxOffset, now)
    this.maxOffset = next
    this.#peerBlocked = false
    this.#mux.sendFrame({ kind: StreamFrames.credit, id: this.id, payload: next })
  }

  /** Drops unread frames, returning their credit to the connection. */
  #discard(): void {
    const unread = this.receivedOffset - this.consumedOffset
    this.#frames.clear()
    if (unread > 0) {
      this.consumedOffset = this.receivedOffset
      this.#mux.consumed(unread)
    }
  }

  #finish(): void {
    this.#state = 'done'
    this.#endWaiters()
  }
}
