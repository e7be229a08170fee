import { authorize, definePlugin, type EventHandlerOptions, type HandlerDefinition, type Session, type KernelApi } from '@echostream/kernel'
import { EventSchemas } from './schemas.js'
import { eventsErrors } from './errors.js'
import { createEventsApi, createSessionMethods, type EventsState } from './api.js'
import { EventFrames, EVENTS_WIRE_VERSION, inboundEventName } from './frames.js'
import { Listeners, type AnyEventHandler } from './listeners.js'
import { createServerParts } from './server.js'
import { schema, type EventsOptions } from './options.js'
import { version } from './version.js'

const PLUGIN_NAME = 'events'

/**
 * Fire-and-forget events both ways, server broadcast and rooms. Provides the `events` capability,
 * exposes `kernel.events` and adds `emit`, `join`, `leave` and `rooms` to sessions.
 */
export default definePlugin<EventsOptions, Pick<KernelApi, 'events'>>({
  name: PLUGIN_NAME,
  version,
  kernel: '^1',
  provides: ['events'],
  requires: ['transport', 'codec'],
  wire: EVENTS_WIRE_VERSION,
  schema,
  setup(kernel, options) {
    const listeners = new Listeners({ maxListeners: options.maxListeners, logger: kernel.logger })
    // `setup` gets the kernel itself (no recording Proxy): the hot paths use it directly.
    const raw = kernel
    const state: EventsState = { stats: { volatileDropped: 0, failed: 0 }, backend: null }
    const schemas = new EventSchemas()
    // Broadcast and rooms; on a server it also taps `disconnect` (last) to empty the rooms of a session.
    const server = createServerParts(raw, options, state, PLUGIN_NAME)
    const api = createEventsApi(raw, options, listeners, server, state, schemas)
    kernel.expose('events', api)
    for (const [key, method] of Object.entries(createSessionMethods(options, server, state))) kernel.decorateSession(key, method)

    kernel.route(EventFrames.emit, {
      handler(frame, session) {
        // Anything thrown here (E_PROTOCOL for a malformed frame, the `authorize` hook's refusal)
        // the kernel answers with an error frame; the session stays open.
        const name = inboundEventName(frame, options.maxNameLength)
        const refusal = authorize(raw.hooks, { kind: 'event', name }, session)
        if (refusal) throw refusal
        schemas.dispatch(name, frame.payload, session, listeners)
      },
      onError(error) {
        // The peer refused one of our events (malformed, unauthorised…): there is no caller to tell.
        kernel.logger.warn(`events: the peer refused an event: ${error.code}: ${error.message}`)
      },
    })

    kernel.registerHandlerKind('event', (definition: HandlerDefinition) => {
      if (typeof definition.handler !== 'function') {
        throw eventsErrors.badDefinition(definition.name)
      }
      const schema = (definition.options as EventHandlerOptions | undefined)?.schema
      if (schema !== undefined) api.schema(definition.name, schema)
      api.on(definition.name, definition.handler as AnyEventHandler)
    })

    return () => {
      listeners.clear()
      server.clear()
      schemas.clear()
    }
  },
})

export { schema, type EventsOptions } from './options.js'
export { EventFrames, EVENTS_WIRE_VERSION } from './frames.js'
export { EventsErrorCodes, type EventsErrorCode } from './errors.js'
export { Listeners, type AnyEventHandler } from './listeners.js'
export { Rooms } from './rooms.js'
export type { EventsBackend } from './backend.js'
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
  BroadcastReport,
  EmitOptions,
  EventsStats,
  VolatileEmitter,
  Unsubscribe,
  DataArgs,
  DataAndOptions,
} from './types.js'

declare module '@echostream/kernel' {
  /** For configs that name this plugin by string: the API it adds (see the kernel's config-types.ts). */
  interface PluginApis {
    '@echostream/plugin-events': Pick<KernelApi, 'events'>
  }
}
