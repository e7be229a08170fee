/**
 * The events API (`kernel.events`) and the session methods (`session.emit`, `join`, `leave`,
 * `rooms`). What only a server does — broadcast, rooms, backends — is in server.ts (a page's
 * bundle gets server.browser.ts instead: the same methods, refusing as on any client).
 */
import { SERVER_BUILD, type EchoKernel, type Schema, type SendOptions, type Session } from '@echostream/kernel'
import type { EventSchemas } from './schemas.js'
import { eventsErrors } from './errors.js'
import { checkEventName, emitFrame } from './frames.js'
import type { Listeners, AnyEventHandler } from './listeners.js'
import type { ServerParts } from './server.js'
import type { BroadcastOptions, EmitOptions, EventsApi, EventsStats, VolatileEmitter } from './types.js'
import type { EventsOptions } from './options.js'
import type { EventsBackend } from './backend.js'

/** The session methods this plugin adds, keyed by name (installed with `decorateSession`). */
export type SessionMethods = Record<'emit' | 'join' | 'leave' | 'rooms', (this: Session, ...args: never[]) => unknown>

export const VOLATILE: SendOptions = Object.freeze({ volatile: true })

export interface EventsState {
  stats: EventsStats
  /** Where broadcasts and room events go (`useBackend`); null: this node's sessions. */
  backend: EventsBackend | null
}

/**
 * One event to one session. Returns `session.writable` afterwards: false when the session is
 * congested (the app should await `whenWritable()`), or when a volatile event was dropped.
 */
function emitTo(session: Session, name: string, data: unknown, volatile: boolean, stats: EventsStats): boolean {
  if (volatile && session.state === 'suspended') {
    // Never queued offline: it would arrive stale after the resume.
    stats.volatileDropped++
    return false
  }
  const size = session.send(emitFrame(name, data), volatile ? VOLATILE : undefined)
  if (size === 0 && volatile) {
    stats.volatileDropped++
    return false
  }
  return session.writable
}

export function createEventsApi(kernel: EchoKernel, options: Readonly<EventsOptions>, listeners: Listeners, server: ServerParts, state: EventsState, schemas: EventSchemas): EventsApi {
  const { maxNameLength } = options
  const { stats } = state

  const subscribe = (method: 'on' | 'once') => (name: unknown, handler: unknown) => {
    checkEventName(name, maxNameLength, method)
    return listeners.add(name, handler as AnyEventHandler, method === 'once', method)
  }

  function clientEmit(name: unknown, data: unknown, volatile: boolean, method: string): boolean {
    checkEventName(name, maxNameLength, method)
    if (SERVER_BUILD && kernel.role === 'server') throw eventsErrors.emitOnServer(name)
    const session = kernel.session
    // 'suspended' (reconnect plugin): the frame is queued and sent, once, after the reconnect.
    if (!session || (session.state !== 'open' && session.state !== 'suspended')) throw eventsErrors.notConnected(name, session?.state)
    return emitTo(session, name, data, volatile, stats)
  }

  const volatileEmitter = {
    emit: (name: unknown, data?: unknown) => clientEmit(name, data, true, 'volatile.emit'),
    broadcast: (name: unknown, data?: unknown, opts?: BroadcastOptions) => server.broadcast(name, data, { ...opts, volatile: true }, 'volatile.broadcast'),
    to: (target: string | readonly string[]) => server.to(target, true),
  } as VolatileEmitter

  const api = {
    on: subscribe('on'),
    once: subscribe('once'),

    schema(name: unknown, schema: Schema): () => void {
      checkEventName(name, maxNameLength, 'schema')
      return schemas.set(name, schema)
    },

    off(name: unknown, handler?: unknown): number {
      checkEventName(name, maxNameLength, 'off')
      return listeners.off(name, handler as AnyEventHandler | undefined)
    },

    emit(name: unknown, data?: unknown, opts?: EmitOptions): boolean {
      return clientEmit(name, data, opts?.volatile === true, 'emit')
    },

    broadcast: (name: unknown, data?: unknown, opts?: BroadcastOptions) => server.broadcast(name, data, opts, 'broadcast'),

    to: (target: string | readonly string[]) => server.to(target, false),

    volatile: volatileEmitter,

    stats: (): EventsStats => ({ ...stats }),

    rooms: server.rooms,

    in: server.in,

    listenerCount(name?: string): number {
      return listeners.count(name)
    },

    useBackend: server.useBackend,

    localBackend: server.localBackend,
  }
  return api as EventsApi
}

export function createSessionMethods(options: Readonly<EventsOptions>, server: ServerParts, state: EventsState): SessionMethods {
  const { maxNameLength } = options
  return {
    emit(this: Session, name: unknown, data?: unknown, opts?: EmitOptions): boolean {
      checkEventName(name, maxNameLength, 'session.emit')
      return emitTo(this, name, data, opts?.volatile === true, state.stats)
    },
    join: server.join,
    leave: server.leave,
    rooms: server.sessionRooms,
  } as SessionMethods
}
