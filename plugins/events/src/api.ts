/**
 * The events API (`kernel.events`) and the session methods (`session.emit`, `join`, `leave`,
 * `rooms`). Sending to many sessions goes through `kernel.fanout`, which encodes a frame once and
 * isolates sessions: one session's failure is counted and reported, never thrown into the loop
 * (issue #10: a broadcast threw at one suspended session with a full queue, and every session
 * after it in the loop missed the event).
 */
import { authorize, type EchoKernel, type Schema, type SendOptions, type Session } from '@echostream/kernel'
import type { EventSchemas } from './schemas.js'
import { eventsErrors } from './errors.js'
import { checkEventName, emitFrame } from './frames.js'
import type { Listeners, AnyEventHandler } from './listeners.js'
import { checkRoomName, type Rooms } from './rooms.js'
import type { BroadcastOptions, BroadcastReport, EmitOptions, EventsApi, EventsStats, RoomEmitter, VolatileEmitter } from './types.js'
import type { EventsOptions } from './options.js'
import type { EventsBackend } from './backend.js'

/** The session methods this plugin adds, keyed by name (installed with `decorateSession`). */
export type SessionMethods = Record<'emit' | 'join' | 'leave' | 'rooms', (this: Session, ...args: never[]) => unknown>

const VOLATILE: SendOptions = Object.freeze({ volatile: true })

function serverOnly(kernel: EchoKernel, what: string, instead: string): void {
  if (kernel.role !== 'server') throw eventsErrors.serverOnly(what, instead)
}

/**
 * The sessions a broadcast goes to: without the excluded ones and, for a volatile event, without
 * the suspended ones (it would be replayed stale after a resume; counted as dropped). No copy when
 * there is nothing to leave out.
 */
function targets(sessions: Iterable<Session>, opts: BroadcastOptions | undefined): { list: Iterable<Session>; offline: number } {
  const except = opts?.except
  const volatile = opts?.volatile === true
  if (except === undefined && !volatile) return { list: sessions, offline: 0 }
  const excluded = except === undefined ? undefined : new Set<Session>(Array.isArray(except) ? (except as readonly Session[]) : [except as Session])
  const list: Session[] = []
  let offline = 0
  for (const session of sessions) {
    if (excluded?.has(session)) continue
    if (volatile && session.state === 'suspended') offline++
    else list.push(session)
  }
  return { list, offline }
}

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

export function createEventsApi(kernel: EchoKernel, options: Readonly<EventsOptions>, listeners: Listeners, rooms: Rooms, state: EventsState, schemas: EventSchemas): EventsApi {
  const { maxNameLength } = options
  const { stats } = state

  const subscribe = (method: 'on' | 'once') => (name: unknown, handler: unknown) => {
    checkEventName(name, maxNameLength, method)
    return listeners.add(name, handler as AnyEventHandler, method === 'once', method)
  }

  function clientEmit(name: unknown, data: unknown, volatile: boolean, method: string): boolean {
    checkEventName(name, maxNameLength, method)
    if (kernel.role === 'server') throw eventsErrors.emitOnServer(name)
    const session = kernel.session
    // 'suspended' (reconnect plugin): the frame is queued and sent, once, after the reconnect.
    if (!session || (session.state !== 'open' && session.state !== 'suspended')) throw eventsErrors.notConnected(name, session?.state)
    return emitTo(session, name, data, volatile, stats)
  }

  function fanout(sessions: Iterable<Session>, name: string, data: unknown, opts: BroadcastOptions | undefined): BroadcastReport {
    const { list, offline } = targets(sessions, opts)
    const volatile = opts?.volatile === true
    const report = kernel.fanout(list, emitFrame(name, data), volatile ? VOLATILE : undefined)
    const dropped = report.dropped + offline
    if (volatile) stats.volatileDropped += dropped
    if (report.failed > 0) {
      stats.failed += report.failed
      const first = report.failures[0]
      kernel.logger.warn(`events: '${name}' did not reach ${report.failed} session(s)${first ? `; first: ${first.session.id}: ${first.error.code}: ${first.error.message}` : ''}`)
    }
    return { sent: report.sent, dropped, failed: report.failed, failures: report.failures }
  }

  /** The default backend: this node's sessions. */
  const local: EventsBackend = {
    publish: (names, name, data, opts) => fanout(names === null ? kernel.sessions() : rooms.union(names), name, data, opts),
  }

  function broadcast(name: unknown, data: unknown, opts: BroadcastOptions | undefined, method: string): BroadcastReport {
    checkEventName(name, maxNameLength, method)
    serverOnly(kernel, `events.${method}`, 'on a client, events.emit(name, data) sends to the server.')
    return (state.backend ?? local).publish(null, name, data, opts)
  }

  function to(target: string | readonly string[], volatile: boolean): RoomEmitter {
    serverOnly(kernel, 'events.to', 'rooms live on the server.')
    const names = typeof target === 'string' ? [target] : target
    if (!Array.isArray(names)) checkRoomName(target, 'events.to')
    for (const room of names) checkRoomName(room, 'events.to')
    return {
      emit(name: unknown, data?: unknown, opts?: BroadcastOptions): BroadcastReport {
        checkEventName(name, maxNameLength, 'to(…).emit')
        return (state.backend ?? local).publish(names, name, data, volatile ? { ...opts, volatile } : opts)
      },
    } as RoomEmitter
  }

  const volatileEmitter = {
    emit: (name: unknown, data?: unknown) => clientEmit(name, data, true, 'volatile.emit'),
    broadcast: (name: unknown, data?: unknown, opts?: BroadcastOptions) => broadcast(name, data, { ...opts, volatile: true }, 'volatile.broadcast'),
    to: (target: string | readonly string[]) => to(target, true),
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

    broadcast(name: unknown, data?: unknown, opts?: BroadcastOptions): BroadcastReport {
      return broadcast(name, data, opts, 'broadcast')
    },

    to: (target: string | readonly string[]) => to(target, false),

    volatile: volatileEmitter,

    stats: (): EventsStats => ({ ...stats }),

    rooms(): string[] {
      serverOnly(kernel, 'events.rooms', 'rooms live on the server.')
      return rooms.names()
    },

    in(room: string): Session[] {
      serverOnly(kernel, 'events.in', 'rooms live on the server.')
      checkRoomName(room, 'events.in')
      return rooms.members(room)
    },

    listenerCount(name?: string): number {
      return listeners.count(name)
    },

    useBackend(backend: EventsBackend | null): EventsBackend | null {
      serverOnly(kernel, 'events.useBackend', 'rooms live on the server.')
      const previous = state.backend
      state.backend = backend
      return previous
    },

    localBackend: (): EventsBackend => local,
  }
  return api as EventsApi
}

export function createSessionMethods(kernel: EchoKernel, options: Readonly<EventsOptions>, rooms: Rooms, state: EventsState): SessionMethods {
  const { maxNameLength } = options
  return {
    emit(this: Session, name: unknown, data?: unknown, opts?: EmitOptions): boolean {
      checkEventName(name, maxNameLength, 'session.emit')
      return emitTo(this, name, data, opts?.volatile === true, state.stats)
    },
    join(this: Session, room: unknown): void {
      serverOnly(kernel, 'session.join', 'rooms live on the server.')
      checkRoomName(room, 'session.join')
      // A closed session would never be removed again (its disconnect has run): joining is a no-op.
      if (this.state === 'closed') return
      const refusal = authorize(kernel.hooks, { kind: 'room', name: room }, this)
      if (refusal) throw refusal
      if (rooms.join(this, room)) state.backend?.joined?.(this, room)
    },
    leave(this: Session, room: unknown): void {
      serverOnly(kernel, 'session.leave', 'rooms live on the server.')
      checkRoomName(room, 'session.leave')
      if (rooms.leave(this, room)) state.backend?.left?.(this, room)
    },
    rooms(this: Session): string[] {
      serverOnly(kernel, 'session.rooms', 'rooms live on the server.')
      return rooms.roomsOf(this)
    },
  } as SessionMethods
}
