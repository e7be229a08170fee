/**
 * The streams plugin's errors, made by one factory (STYLE rule 7). Codes are the kernel's where
 * one fits; `E_NO_HANDLER` and `E_STREAM_LIMIT` are this plugin's own refusals of an open.
 */
import { createError, ErrorCodes, type EchoError } from '@echostream/kernel'

export const StreamsErrorCodes = {
  /** The peer has no handler for the stream name: `open()` rejects with it. */
  E_NO_HANDLER: 'E_NO_HANDLER',
  /** The peer already has `maxStreams` streams open from this session: `open()` rejects with it. */
  E_STREAM_LIMIT: 'E_STREAM_LIMIT',
  /** The peer sent more than its credit (per stream or per connection): the stream is aborted. */
  E_FLOW_CONTROL: ErrorCodes.E_FLOW_CONTROL,
  /** One write is larger than the receiver's stream or connection window. */
  E_PAYLOAD_TOO_LARGE: ErrorCodes.E_PAYLOAD_TOO_LARGE,
  /** The session closed (or the plugin was unloaded) while the stream was open. */
  E_CLOSED: ErrorCodes.E_CLOSED,
  /** The peer did not answer an open within `openTimeoutMs`. */
  E_TIMEOUT: ErrorCodes.E_TIMEOUT,
  /** Default code of `abort()` / `cancel()`, and of leaving a `for await` loop early. */
  E_CANCELLED: ErrorCodes.E_CANCELLED,
  /** The `authorize` hook refused the open (any code the hook returns is passed through). */
  E_UNAUTHORIZED: ErrorCodes.E_UNAUTHORIZED,
  /** A malformed stream frame from the peer. */
  E_PROTOCOL: ErrorCodes.E_PROTOCOL,
  /** A value the codec cannot encode was written. */
  E_CODEC: ErrorCodes.E_CODEC,
  /** A bad option (plugin options, `playout()` options). */
  E_CONFIG: ErrorCodes.E_CONFIG,
  /** A call that the stream's state does not allow (write after end, open on a server without a session). */
  E_STATE: ErrorCodes.E_STATE,
  /** The peer does not load the streams plugin. */
  E_INCOMPATIBLE: ErrorCodes.E_INCOMPATIBLE,
  /** A remote handler failed with a plain Error (its message is kept). */
  E_INTERNAL: ErrorCodes.E_INTERNAL,
  /** A bad argument to a local call (empty name, non-function handler, bad wallTime). */
  E_INVALID_ARGUMENT: 'E_INVALID_ARGUMENT',
  /** The opener's `meta` broke the stream's meta schema (`handle(name, handler, { meta })`): `open()` rejects with it. */
  E_INVALID_PAYLOAD: 'E_INVALID_PAYLOAD',
} as const

export type StreamsErrorCode = (typeof StreamsErrorCodes)[keyof typeof StreamsErrorCodes]

export function streamsError(code: string, message: string, cause?: unknown): EchoError {
  return createError(code, message, cause === undefined ? undefined : { cause })
}
