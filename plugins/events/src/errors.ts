/**
 * The events plugin's errors, made by one factory (STYLE rule 7). Codes are the kernel's where one
 * fits; `E_INVALID_ARGUMENT` is this plugin's own, for a bad call made locally (never sent).
 */
import { createError, ErrorCodes, type EchoError } from '@echostream/kernel'

export const EventsErrorCodes = {
  /** A malformed `events.emit` frame from the peer (answered with an error frame, session stays open). */
  E_PROTOCOL: ErrorCodes.E_PROTOCOL,
  /** Emitting while not connected, or to a closed session. */
  E_CLOSED: ErrorCodes.E_CLOSED,
  /** A server-only method called on a client (broadcast, rooms). */
  E_STATE: ErrorCodes.E_STATE,
  /** A `defineEvent` definition without a name or handler. */
  E_CONFIG: ErrorCodes.E_CONFIG,
  /** A local call with a bad argument: empty or over-long event name, non-function handler, bad room name. */
  E_INVALID_ARGUMENT: 'E_INVALID_ARGUMENT',
} as const

export type EventsErrorCode = (typeof EventsErrorCodes)[keyof typeof EventsErrorCodes]

export function eventsError(code: EventsErrorCode, message: string, cause?: unknown): EchoError {
  return createError(code, message, cause === undefined ? undefined : { cause })
}

/** A short, safe description of an untrusted value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'nil'
  if (value === undefined) return 'nothing'
  if (typeof value === 'string') return `a string of length ${value.length}`
  if (ArrayBuffer.isView(value)) return 'binary'
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`
}
