/**
 * Every error the events plugin makes, from one table (STYLE rule 7, the shape of `rpcErrors`):
 * throw sites pass only arguments. Codes are the kernel's; messages say what to do next.
 */
import { defineErrors, describe, ErrorCodes } from '@echostream/kernel'

export const EventsErrorCodes = {
  /** A malformed `events.emit` frame from the peer (answered with an error frame, session stays open). */
  E_PROTOCOL: ErrorCodes.E_PROTOCOL,
  /** Emitting while not connected, or to a closed session. */
  E_CLOSED: ErrorCodes.E_CLOSED,
  /** A server-only method called on a client (broadcast, rooms), or `events.emit` on a server. */
  E_STATE: ErrorCodes.E_STATE,
  /** A `defineEvent` definition without a handler. */
  E_CONFIG: ErrorCodes.E_CONFIG,
  /** A local call with a bad argument: empty or over-long event name, non-function handler, bad room name. */
  E_INVALID_ARGUMENT: ErrorCodes.E_INVALID_ARGUMENT,
  /** An event payload that breaks the event's schema (`events.schema`, `defineEvent(…, { schema })`); no listener ran. */
  E_INVALID_PAYLOAD: 'E_INVALID_PAYLOAD',
} as const

export type EventsErrorCode = (typeof EventsErrorCodes)[keyof typeof EventsErrorCodes]

const C = EventsErrorCodes
const EMIT = 'events.emit'

/** An event name for a message: a short string as it is, anything else described. */
const shown = (name: unknown) => (name === '' ? 'an empty string' : typeof name === 'string' ? `'${name.slice(0, 40)}${name.length > 40 ? '…' : ''}'` : describe(name))

export const eventsErrors = defineErrors({
  malformedName: {
    code: C.E_PROTOCOL,
    message: (name: unknown) => `Malformed '${EMIT}' frame: its name must be the event name, a non-empty string, but it is ${shown(name)}. Send { kind: '${EMIT}', name: <event>, payload: <data> }.`,
  },
  inboundNameTooLong: {
    code: C.E_PROTOCOL,
    message: (length: number, max: number) => `Malformed '${EMIT}' frame: event name of ${length} characters exceeds this peer's maxNameLength of ${max}; use shorter event names.`,
  },
  badName: {
    code: C.E_INVALID_ARGUMENT,
    message: (method: string, name: unknown) => `events.${method}: the event name must be a non-empty string, got ${shown(name)}.`,
  },
  nameTooLong: {
    code: C.E_INVALID_ARGUMENT,
    message: (method: string, name: string, max: number) => `events.${method}: event name ${shown(name)} has ${name.length} characters, over maxNameLength ${max}; shorten it or raise options.events.maxNameLength on both sides.`,
  },
  badHandler: {
    code: C.E_INVALID_ARGUMENT,
    message: (method: string, name: string, handler: unknown) => `events.${method}(${shown(name)}, handler): the handler must be a function, got ${describe(handler)}.`,
  },
  badRoom: {
    code: C.E_INVALID_ARGUMENT,
    message: (method: string, room: unknown) => `${method}: a room name must be a non-empty string, got ${shown(room)}.`,
  },
  badDefinition: {
    code: C.E_CONFIG,
    message: (name: string) => `defineEvent(${shown(name)}, handler): the handler must be a function; fix the handler module that exports it.`,
  },
  invalidPayload: {
    code: C.E_INVALID_PAYLOAD,
    message: (name: string, problems: string[]) => `Event ${shown(name)} refused: ${problems.join('; ')}. Send data that matches the event's schema.`,
    data: (name: string, problems: string[]) => ({ event: name, problems }),
  },
  badSchema: {
    code: C.E_CONFIG,
    message: (name: string, why: string) => `The schema of event ${shown(name)} is unusable: ${why}. Pass a JSON Schema object or a Standard Schema validator (zod, valibot, arktype).`,
  },
  duplicateSchema: {
    code: C.E_CONFIG,
    message: (name: string) => `Event ${shown(name)} already has a schema: call the function events.schema returned to remove it first.`,
  },
  serverOnly: {
    code: C.E_STATE,
    message: (what: string, instead: string) => `${what} works on a server only: ${instead}`,
  },
  emitOnServer: {
    code: C.E_STATE,
    message: (name: string) =>
      `events.emit(${shown(name)}) on a server has no single peer: use events.broadcast(name, data) for everyone, events.to(room).emit(name, data) for a room, or session.emit(name, data) for one client.`,
  },
  notConnected: {
    code: C.E_CLOSED,
    retryable: true,
    message: (name: string, state: string | undefined) =>
      `Cannot emit ${shown(name)}: the client is not connected (${state ? `session ${state}` : 'never started'}). Await client.start() first; to queue events while disconnected, load @echostream/plugin-reconnect.`,
  },
})
