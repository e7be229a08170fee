/**
 * The one frame this plugin adds. `events.emit` carries the event name in the frame's `name` and
 * the data in its `payload`; it has no `id` because events are never acknowledged.
 */
import type { Frame } from '@echostream/kernel'
import { eventsErrors } from './errors.js'

export const EventFrames = {
  /** Either way: one event. `{ kind: 'events.emit', name: <event>, payload: <data> }`. */
  emit: 'events.emit',
} as const

/** The wire version of this plugin's frames, compared in the handshake. */
export const EVENTS_WIRE_VERSION = 1

export function emitFrame(name: string, data: unknown): Frame {
  return { kind: EventFrames.emit, name, payload: data }
}

/**
 * The event name of an untrusted `events.emit` frame. Throws an `E_PROTOCOL` EchoError, which the
 * kernel turns into an error frame for that session (the session stays open).
 */
export function inboundEventName(frame: Frame, maxNameLength: number): string {
  const name: unknown = frame.name
  if (typeof name !== 'string' || name.length === 0) {
    throw eventsErrors.malformedName(name)
  }
  if (name.length > maxNameLength) {
    throw eventsErrors.inboundNameTooLong(name.length, maxNameLength)
  }
  return name
}

/** Checks an event name given to a local call (`on`, `emit`…). */
export function checkEventName(name: unknown, maxNameLength: number, method: string): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw eventsErrors.badName(method, name)
  }
  if (name.length > maxNameLength) {
    throw eventsErrors.nameTooLong(method, name, maxNameLength)
  }
}
