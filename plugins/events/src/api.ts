/**
 * The events API (`kernel.events`) and the session methods (`session.emit`, `join`, `leave`,
 * `rooms`). Sending to many sessions goes through `kernel.sendMany`, which encodes a frame once.
 */
import { authorize, type EchoKernel, type Session } from '@echostream/kernel'
import { eventsError, EventsErrorCodes } from './errors.js'
import { checkEventName, emitFrame } from './frames.js'
import type { Listeners, AnyEventHandler } from './listeners.js'
import { checkRoomName, type Rooms } from './rooms.js'
import type { BroadcastOptions, EventsApi, RoomEmitter } from './types.js'
import type { EventsOptions } from './options.js'

/** The session methods this plugin adds, keyed by name (installed with `decorateSession`). */
export type SessionMethods = Record<'emit' | 'join' | 'leave' | 'rooms', (this: Session, ...args: never[]) => unknown>

function serverOnly(kernel: EchoKernel, what: string, instead: string): void {
  if (kernel.role !== 'server') {
    throw eventsError(EventsErrorCodes.E_STATE, `${what} works on a server only: ${instead}`)
  }
}

function excluded(except: BroadcastOptions['except']): ReadonlySet<Session> | undefined {
  if (except === undefined) return undefined
  return new Set(Array.isArray(except) ? (except as readonly Session[]) : [except as Session])
}

/** `sessions` without the excluded ones; no copy when nothing is excluded. */
function without(sessions: Iterable<Session>, except: ReadonlySet<Session> | undefined): Iterable<Session> {
  if (!except?.size) return sessions
  const kept: Session[] = []
  for (const session of sessions) if (!except.has(session)) kept.push(session)
  return kept
}

export function createEventsApi(kernel: EchoKernel, options: Readonly<EventsOptions>, listeners: Listeners, rooms: Rooms): EventsApi {
  const { maxNameLength } = options

  const subscribe = (method: 'on' | 'once') => (name: unknown, handler: unknown) => {
    checkEventName(name, maxNameLength, method)
    return listeners.add(name, handler as AnyEventHandler, method === 'once', method)
  }

  const api = {
    on: subscribe('on'),
    once: subscribe('once'),

    off(name: unknown, handler?: unknown): number {
      checkEventName(name, maxNameLength, 'off')
      return listeners.off(name, handler as AnyEventHandler | undefined)
    },

    emit(name: unknown, data?: unknown): void {
      checkEventName(name, maxNameLength, 'emit')
      if (kernel.role === 'server') {
        throw eventsError(EventsErrorCodes.E_STATE, `events.emit('${name}') on a server has no single peer: use events.broadcast(name, data) for everyone, events.to(room).emit(name, data) for a room, or session.emit(name, data) for one client.`)
      }
      const session = kernel.session
      // 'suspended' (reconnect plugin): the frame is queued and sent, once, after the reconnect.
      if (!session || (session.state !== 'open' && session.state !== 'suspended')) {
        throw eventsError(EventsErrorCodes.E_CLOSED, `Cannot emit '${name}': the client is not connected (${session ? `session ${session.state}` : 'never started'}). Await client.start() first; to queue events while disconnected, load @echostream/plugin-reconnect.`)
      }
      session.send(emitFrame(name, data))
    },

    broadcast(name: unknown, data?: unknown, opts?: BroadcastOptions): number {
      checkEventName(name, maxNameLength, 'broadcast')
      serverOnly(kernel, 'events.broadcast', 'on a client, events.emit(name, data) sends to the server.')
      return kernel.sendMany(without(kernel.sessions(), excluded(opts?.except)), emitFrame(name, data))
    },

    to(target: string | readonly string[]): RoomEmitter {
      serverOnly(kernel, 'events.to', 'rooms live on the server.')
      const names = typeof target === 'string' ? [target] : target
      if (!Array.isArray(names)) checkRoomName(target, 'events.to')
      for (const room of names) checkRoomName(room, 'events.to')
      return {
        emit(name: unknown, data?: unknown, opts?: BroadcastOptions): number {
          checkEventName(name, maxNameLength, 'to(…).emit')
          return kernel.sendMany(without(rooms.union(names), excluded(opts?.except)), emitFrame(name, data))
        },
      } as RoomEmitter
    },

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
  }
  return api as EventsApi
}

export function createSessionMethods(kernel: EchoKernel, options: Readonly<EventsOptions>, rooms: Rooms): SessionMethods {
  const { maxNameLength } = options
  return {
    emit(this: Session, name: unknown, data?: unknown): void {
      checkEventName(name, maxNameLength, 'session.emit')
      this.send(emitFrame(name, data))
    },
    join(this: Session, room: unknown): void {
      serverOnly(kernel, 'session.join', 'rooms live on the server.')
      checkRoomName(room, 'session.join')
      // A closed session would never be removed again (its disconnect has run): joining is a no-op.
      if (this.state === 'closed') return
      const refusal = authorize(kernel.hooks, { kind: 'room', name: room }, this)
      if (refusal) throw refusal
      rooms.join(this, room)
    },
    leave(this: Session, room: unknown): void {
      serverOnly(kernel, 'session.leave', 'rooms live on the server.')
      checkRoomName(room, 'session.leave')
      rooms.leave(this, room)
    },
    rooms(this: Session): string[] {
      serverOnly(kernel, 'session.rooms', 'rooms live on the server.')
      return rooms.roomsOf(this)
    },
  } as SessionMethods
}
