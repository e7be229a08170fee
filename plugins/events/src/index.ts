import { createRequire } from 'node:module'
import { definePlugin, EchoError, ErrorCodes, Stage, type HandlerDefinition, type Session } from '@echostream/kernel'
import { createEventsApi, createSessionMethods } from './api.js'
import { EventFrames, EVENTS_WIRE_VERSION, inboundEventName } from './frames.js'
import { Listeners, type AnyEventHandler } from './listeners.js'
import { Rooms } from './rooms.js'
import { schema, type EventsOptions } from './options.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

const PLUGIN_NAME = 'events'

/**
 * Fire-and-forget events both ways, server broadcast and rooms. Provides the `events` capability,
 * exposes `kernel.events` and adds `emit`, `join`, `leave` and `rooms` to sessions.
 */
export default definePlugin<EventsOptions>({
  name: PLUGIN_NAME,
  version,
  kernel: '^1',
  provides: ['events'],
  requires: ['transport', 'codec'],
  wire: EVENTS_WIRE_VERSION,
  schema,
  setup(kernel, options) {
    const listeners = new Listeners({ maxListeners: options.maxListeners, logger: kernel.logger })
    const rooms = new Rooms()
    const api = createEventsApi(kernel, options, listeners, rooms)
    kernel.expose('events', api)
    for (const [key, method] of Object.entries(createSessionMethods(kernel, options, rooms))) kernel.decorateSession(key, method)

    kernel.route(EventFrames.emit, {
      handler(frame, session) {
        // A malformed frame throws E_PROTOCOL here; the kernel answers it with an error frame.
        listeners.dispatch(inboundEventName(frame, options.maxNameLength), frame.payload, session)
      },
    })

    if (kernel.role === 'server') {
      // Last, so other plugins' disconnect taps still see `session.rooms()`.
      kernel.hooks.disconnect.tap({ name: PLUGIN_NAME, stage: Stage.LAST }, (session: Session) => rooms.leaveAll(session))
    }

    kernel.registerHandlerKind('event', (definition: HandlerDefinition) => {
      if (typeof definition.handler !== 'function') {
        throw new EchoError(ErrorCodes.E_CONFIG, `defineEvent('${definition.name}', handler): the handler must be a function.`)
      }
      api.on(definition.name, definition.handler as AnyEventHandler)
    })

    return () => {
      listeners.clear()
      rooms.clear()
    }
  },
})

export { schema, type EventsOptions } from './options.js'
export { EventFrames, EVENTS_WIRE_VERSION } from './frames.js'
export { EventsErrorCodes, type EventsErrorCode } from './errors.js'
export { Listeners, type AnyEventHandler } from './listeners.js'
export { Rooms } from './rooms.js'
export type {
  ServerEvents,
  ClientEvents,
  EventsApi,
  EventsHandler,
  EventName,
  EventData,
  AnyEventName,
  ReceivedData,
  RoomEmitter,
  BroadcastOptions,
  Unsubscribe,
  DataArgs,
  DataAndOptions,
} from './types.js'
