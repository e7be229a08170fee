/**
 * The one frame this plugin adds. `events.emit` carries the event name in the frame's `name` and
 * the data in its `payload`; it has no `id` because events are never acknowledged.
 */
import type { Frame } from '@echostream/kernel'
import { describe, eventsError, EventsErrorCodes } from './errors.js'

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
    throw eventsError(EventsErrorCodes.E_PROTOCOL, `Malformed '${EventFrames.emit}' frame: its name must be the event name, a non-empty string, but it is ${name === '' ? 'empty' : describe(name)}. Send { kind: '${EventFrames.emit}', name: <event>, payload: <data> }.`)
  }
  if (name.length > maxNameLength) {
    throw eventsError(EventsErrorCodes.E_PROTOCOL, `Malformed '${EventFrames.emit}' frame: event name of ${name.length} characters exceeds this peer's maxNameLength of ${maxNameLength}; use shorter event names.`)
  }
  return name
}

/** Checks an event name given to a local call (`on`, `emit`…). */
export function checkEventName(name: unknown, maxNameLength: number, method: string): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw eventsError(EventsErrorCodes.E_INVALID_ARGUMENT, `events.${method}: the event name must be a non-empty string, got ${name === '' ? 'an empty string' : describe(name)}.`)
  }
  if (name.length > maxNameLength) {
    throw eventsError(EventsErrorCodes.E_INVALID_ARGUMENT, `events.${method}: event name '${name.slice(0, 40)}…' has ${name.length} characters, over maxNameLength ${maxNameLength}; shorten it or raise options.events.maxNameLength on both sides.`)
  }
}
