/**
 * `stream.playout()`: reads a stream into the jitter buffer (./jitter) as frames arrive, and
 * yields them again at playout time. Reading right away returns credit at once; the jitter
 * buffer's own caps (capacityMs, maxFrames) bound what it holds.
 */
import { JitterBuffer, playout, type JitterBufferOptions, type JitterEvent, type JitterMetrics } from './jitter/index.js'
import { playoutClock } from './clock.js'
import { messageOf } from '@echostream/kernel'
import { streamsError, StreamsErrorCodes } from './errors.js'
import type { StreamReader } from './reader.js'

export interface StreamPlayoutOptions {
  /** Playout delay D before the first estimate, and the fixed D when `adaptive` is false. Default 80. */
  delayMs?: number
  /**
   * true (default): D adapts to the measured jitter (NetEq-like) above the fastest recent transit.
   * false: every frame plays at toLocal(wallTime) + delayMs exactly (synchronised playout).
   */
  adaptive?: boolean
  /** Floor and ceiling of the adaptive D. Defaults 20 and 500. */
  minDelayMs?: number
  maxDelayMs?: number
  /** Cap on the wall-time span of buffered frames (oldest dropped past it). Default 2000. */
  capacityMs?: number
  /** Cap on buffered frames. Default 4096. */
  maxFrames?: number
  /** How fast D may fall. Default 10 ms per second. */
  shrinkMsPerSecond?: number
  /** Percentile of the transit spread D covers. Default 0.95. */
  percentile?: number
  /** Transit samples kept. Default 250. */
  historySize?: number
  /** Stops the playout (the stream is cancelled). */
  signal?: AbortSignal
}

export class StreamPlayout<T> implements AsyncIterable<JitterEvent<T>> {
  readonly #reader: StreamReader<T>
  readonly #buffer: JitterBuffer<T>
  readonly #stop = new AbortController()
  #ended = false
  #failure: unknown
  #iterated = false

  constructor(reader: StreamReader<T>, kernel: object, options: StreamPlayoutOptions = {}) {
    this.#reader = reader
    const clock = playoutClock(kernel)
    const jitterOptions: JitterBufferOptions = { now: clock.now, toLocal: clock.toLocal }
    if (options.delayMs !== undefined) jitterOptions.initialDelayMs = options.delayMs
    for (const key of ['adaptive', 'minDelayMs', 'maxDelayMs', 'capacityMs', 'maxFrames', 'shrinkMsPerSecond', 'percentile', 'historySize'] as const) {
      if (options[key] !== undefined) (jitterOptions as unknown as Record<string, unknown>)[key] = options[key]
    }
    try {
      this.#buffer = new JitterBuffer<T>(jitterOptions)
    } catch (error) {
      throw streamsError(StreamsErrorCodes.E_CONFIG, `stream.playout(): ${messageOf(error)}. Fix the playout options.`, error)
    }
    const outer = options.signal
    if (outer) {
      if (outer.aborted) this.#stop.abort()
      else outer.addEventListener('abort', () => this.#stop.abort(), { once: true })
    }
    void this.#feed()
  }

  /** Late drops, gaps, duplicates, reorders, current and p95 delay, depth (see the jitter buffer). */
  metrics(): JitterMetrics {
    return this.#buffer.metrics()
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<JitterEvent<T>, void, undefined> {
    if (this.#iterated) throw streamsError(StreamsErrorCodes.E_STATE, 'stream.playout() can be iterated once; call playout() again on a new stream.')
    this.#iterated = true
    try {
      if (this.#drained()) return this.#finish()
      for await (const event of playout(this.#buffer, { signal: this.#stop.signal })) {
        yield event
        // Stop, not break: the driver still yields the rest of the batch it popped, then returns.
        if (this.#drained()) this.#stop.abort()
      }
      this.#finish()
    } finally {
      this.#stop.abort()
      this.#reader.cancel(StreamsErrorCodes.E_CANCELLED, `The receiver of stream '${this.#reader.name}' stopped its playout.`)
    }
  }

  async #feed(): Promise<void> {
    try {
      for (;;) {
        const frame = await this.#reader.read()
        if (frame === undefined || this.#stop.signal.aborted) break
        this.#buffer.push(frame)
      }
    } catch (error) {
      this.#failure = error
      this.#stop.abort()
    }
    this.#ended = true
    // Nothing left to play: wake the iterator parked on an empty buffer.
    if (this.#buffer.nextDueAt() === undefined) this.#stop.abort()
  }

  #drained(): boolean {
    return this.#ended && this.#buffer.nextDueAt() === undefined
  }

  /** Ends the iteration: throws the stream's error if it failed. */
  #finish(): void {
    if (this.#failure !== undefined) throw this.#failure
  }
}
