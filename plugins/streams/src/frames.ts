/**
 * The frames this plugin adds (README "Wire frames"). Every frame carries the stream id in the
 * frame's `id` field, except the connection-level credit; `stream.data` is the hot path, so its
 * payload is a bare array `[seq, wallTime, data]`.
 */
import type { Frame, WireError } from '@echostream/kernel'
import { describe } from '@echostream/kernel'
import { streamsError, StreamsErrorCodes } from './errors.js'

export const StreamFrames = {
  /** opener → peer: `{ id, name, payload?: { meta } }`. */
  open: 'stream.open',
  /** receiver → opener: `{ id, payload: maxOffset }`, the initial per-stream credit. */
  accept: 'stream.accept',
  /** sender → receiver: `{ id, payload: [seq, wallTime, data] }`. */
  data: 'stream.data',
  /** receiver → sender: `{ id, payload: maxOffset }`, absolute; take the max. */
  credit: 'stream.credit',
  /** receiver → sender, per session: `{ payload: maxOffset }`, absolute over all streams; take the max. */
  connCredit: 'stream.conncredit',
  /**
   * sender → receiver: `{ id, payload: maxOffset }`, the sender has data queued that the credit
   * `maxOffset` does not cover (as QUIC STREAM_DATA_BLOCKED). The receiver grants whatever the
   * application has read, even below its usual half-window threshold.
   */
  blocked: 'stream.blocked',
  /** sender → receiver, per session: `{ payload: maxOffset }`, the same for the connection's credit. */
  connBlocked: 'stream.connblocked',
  /** sender → receiver: `{ id }`, no more data. */
  end: 'stream.end',
  /** either way: `{ id, payload: { code, message } }`; also refuses an open. */
  abort: 'stream.abort',
  /**
   * either way, once, after a resume on another server (README "Across a takeover"):
   * `{ payload: epoch }`, the new server's streams epoch. Every stream frame before it on the wire
   * belongs to the old server's streams (replayed by reconnect or the cluster) and is dropped.
   */
  fence: 'stream.fence',
} as const

/**
 * The wire version of these frames, compared in the handshake. 2: credit counts the encoded
 * message (version 1 counted the data alone, re-measured by the receiver).
 */
export const STREAMS_WIRE_VERSION = 2

export function openFrame(id: number, name: string, meta: unknown): Frame {
  return meta === undefined ? { kind: StreamFrames.open, id, name } : { kind: StreamFrames.open, id, name, payload: { meta } }
}

export function abortFrame(id: number, error: WireError): Frame {
  return { kind: StreamFrames.abort, id, payload: { code: error.code, message: error.message } }
}

function malformed(kind: string, why: string): never {
  throw streamsError(StreamsErrorCodes.E_PROTOCOL, `Malformed '${kind}' frame: ${why} (see the streams README, "Wire frames").`)
}

/** The stream id of an untrusted frame: a positive safe integer. */
export function streamId(frame: Frame): number {
  const id = frame.id
  if (id === undefined || !Number.isSafeInteger(id) || id < 1) malformed(frame.kind, `its id must be the stream id, a positive integer, but it is ${describe(id)}`)
  return id
}

/** An absolute credit offset: a non-negative safe integer. */
export function creditOffset(frame: Frame): number {
  const value = frame.payload
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) malformed(frame.kind, `its payload must be an absolute byte offset (a non-negative integer), but it is ${describe(value)}`)
  return value
}

/** The epoch of an untrusted `stream.fence`: a short string, or undefined. */
export function fenceEpoch(frame: Frame): string | undefined {
  const value = frame.payload
  return typeof value === 'string' && value.length > 0 && value.length <= 64 ? value : undefined
}

/** The meta of an untrusted `stream.open` (anything, or nothing). */
export function openMeta(frame: Frame): unknown {
  const payload = frame.payload
  if (payload === undefined || payload === null) return undefined
  if (typeof payload !== 'object' || Array.isArray(payload) || ArrayBuffer.isView(payload)) malformed(frame.kind, `its payload must be { meta } or nil, but it is ${describe(payload)}`)
  const meta = (payload as { meta?: unknown }).meta
  return meta === null ? undefined : meta
}

/** The `{ code, message }` of an untrusted `stream.abort`. */
export function abortReason(frame: Frame): WireError {
  const payload = frame.payload as Partial<WireError> | undefined
  if (typeof payload === 'object' && payload !== null && typeof payload.code === 'string' && payload.code.length > 0) {
    return { code: payload.code, message: typeof payload.message === 'string' ? payload.message : `The peer aborted the stream with ${payload.code}.` }
  }
  return { code: StreamsErrorCodes.E_CANCELLED, message: 'The peer aborted the stream without a code.' }
}

/** Checks a stream name given to a local call (`open`, `handle`). */
export function checkStreamName(name: unknown, maxNameLength: number, method: string): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw streamsError(StreamsErrorCodes.E_INVALID_ARGUMENT, `streams.${method}: the stream name must be a non-empty string, got ${name === '' ? 'an empty string' : describe(name)}.`)
  }
  if (name.length > maxNameLength) {
    throw streamsError(StreamsErrorCodes.E_INVALID_ARGUMENT, `streams.${method}: stream name '${name.slice(0, 40)}…' has ${name.length} characters, over maxNameLength ${maxNameLength}; shorten it or raise options.streams.maxNameLength on both sides.`)
  }
}
