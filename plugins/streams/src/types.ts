/** Public types of the streams plugin (the classes are in writer.ts and reader.ts). */
import type { Schema, Session } from '@echostream/kernel'
import type { StreamReader } from './reader.js'
import type { StreamWriter } from './writer.js'

/** One frame as the receiver gets it. */
export interface StreamFrame<T = unknown> {
  /** Capture time, µs in the synchronised clock (`kernel.clock.now()`, or the sender's local clock without clock-sync). */
  readonly wallTime: number
  /** 0, 1, 2… per stream, one per `write()`; a gap means frames were dropped ('drop-oldest'). */
  readonly seq: number
  /** What was written: binary arrives as a Buffer, strings as strings, other values as the codec decodes them. */
  readonly data: T
}

/** What a writer does when it has no credit: wait (`block`, default) or drop its oldest queued frames (`drop-oldest`, for media). */
export type StreamPolicy = 'block' | 'drop-oldest'

export interface OpenOptions {
  /** Default `'block'`. */
  policy?: StreamPolicy
  /** Bytes this writer queues locally: bound of a 'drop-oldest' queue; default highWaterMark of its adapters. Default: option writeHighWaterMark. */
  highWaterMark?: number
  /** How long to wait for the peer to accept. Default: option openTimeoutMs. */
  timeoutMs?: number
  /** Cancels a pending open (rejects with E_CANCELLED). */
  signal?: AbortSignal
  /** Server: the session to open the stream to (or use `session.openStream`). */
  session?: Session
}

export interface WriteOptions {
  /** Overrides the frame's wallTime (µs, synchronised clock), e.g. the capture time of a media frame. */
  wallTime?: number
}

/** What a stream handler gets besides the stream. */
export interface StreamContext<M = unknown> {
  /** The session the stream came on. */
  session: Session
  /** The stream name. */
  name: string
  /** The opener's `meta` (undefined when none was given). */
  meta: M
  /** The stream id (odd: opened by the client, even: by the server). */
  id: number
  /** Aborted when the stream fails (peer abort, disconnect, cancel). */
  signal: AbortSignal
}

export type StreamHandler<T = any, M = any> = (stream: StreamReader<T>, ctx: StreamContext<M>) => unknown

export type WriterState = 'open' | 'ending' | 'ended' | 'aborted'
export type ReaderState = 'open' | 'ended' | 'done' | 'cancelled' | 'aborted'

/** Read-only counters of a writer. Offsets are credit bytes (README "Flow control"). */
export interface WriterStats {
  id: number
  name: string
  state: WriterState
  policy: StreamPolicy
  /** The seq the next write gets (= writes so far). */
  nextSeq: number
  /** Credit bytes sent on this stream. */
  sentOffset: number
  /** The peer's credit limit for this stream (absolute). */
  maxOffset: number
  /** The peer's per-stream window (its initial credit). */
  window: number
  /** Writes waiting to be sent, and their data bytes. */
  queuedFrames: number
  queuedBytes: number
  /** Frames a 'drop-oldest' writer dropped, and their data bytes. */
  droppedFrames: number
  droppedBytes: number
  /** Why the queue head is not sent: no stream credit, no connection credit, the socket is above its high-water mark, or nothing is queued. */
  waitingFor: 'stream-credit' | 'connection-credit' | 'socket' | null
}

/** Read-only counters of a reader. Offsets are credit bytes. */
export interface ReaderStats {
  id: number
  name: string
  state: ReaderState
  /** Credit bytes received, consumed (read by the application) and the difference. */
  receivedOffset: number
  consumedOffset: number
  unreadBytes: number
  unreadFrames: number
  /** Credit granted to the sender (absolute), and this stream's current (auto-tuned) window. */
  maxOffset: number
  window: number
  framesReceived: number
}

/** Read-only counters of one session (both directions). */
export interface SessionStreamStats {
  /** Streams this side is writing (including opens not yet accepted) and reading. */
  writers: number
  readers: number
  /** Sending: credit bytes sent over all streams, the peer's connection limit and window. */
  send: { sentOffset: number; maxOffset: number; window: number }
  /**
   * Receiving: credit bytes received and consumed over all streams, unread, granted limit, the
   * connection's current (auto-tuned) window, and the smoothed credit round trip in ms (0 before
   * the first sample).
   */
  receive: { receivedOffset: number; consumedOffset: number; unreadBytes: number; maxOffset: number; window: number; rttMs: number }
  /** Bytes in the socket's send buffer (transport backpressure). */
  bufferedAmount: number
}

/** Every open stream of one session, each with its own counters (`streams.list`). */
export interface SessionStreamList {
  /** Streams this side writes: credit, queue, and what the queue head waits for (`waitingFor`). */
  writers: WriterStats[]
  /** Streams this side reads: received, consumed, unread, granted credit. */
  readers: ReaderStats[]
}

/** Options of `streams.handle` / `defineStream`. */
export interface StreamHandleOptions<M = unknown> {
  /** A schema (JSON Schema or Standard Schema, validating synchronously) the opener's `meta` must match; refused with E_INVALID_PAYLOAD. */
  meta?: Schema<M>
}

export interface StreamsApi {
  /**
   * Opens a stream to the peer and resolves with its writer once the peer accepted. Client: to the
   * server. Server: pass `{ session }` (or call `session.openStream`). Rejects with the peer's
   * refusal: E_NO_HANDLER, E_STREAM_LIMIT, E_UNAUTHORIZED…, or E_TIMEOUT / E_CLOSED.
   */
  open<T = unknown>(name: string, meta?: unknown, options?: OpenOptions): Promise<StreamWriter<T>>
  /**
   * Handles streams the peer opens under `name`. `options.meta`: a schema (JSON Schema, or a
   * Standard Schema such as zod) the opener's `meta` must match, else `open()` rejects with
   * `E_INVALID_PAYLOAD` listing the problems; the handler gets the schema's output. Returns the
   * unsubscribe function.
   */
  handle<T = any, M = any>(name: string, handler: StreamHandler<T, M>, options?: StreamHandleOptions<M>): () => void
  /** Counters of a session (client: its session by default). */
  stats(session?: Session): SessionStreamStats
  /** Every open stream of a session (client: its session by default) with its own counters; empty when it has none. */
  list(session?: Session): SessionStreamList
}
