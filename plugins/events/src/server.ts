/**
 * What only a server does with events: broadcast, rooms (`to(room).emit`, `session.join`…) and
 * the backend seam a cluster plugin uses. Sending to many sessions goes through `kernel.fanout`,
 * which encodes a frame once and isolates sessions: one session's failure is counted and reported,
 * never thrown into the loop (issue #10: a broadcast threw at one suspended session with a full
 * queue, and every session after it in the loop missed the event). On a client each method
 * refuses with E_STATE, as a page's bundle (server.browser.ts, through the `browser` field) does
 * without carrying any of this.
 */
import { authorize, Stage, type EchoKernel, type Session } from '@echostream/kernel'
import { eventsErrors } from './errors.js'
import { checkEventName, emitFrame } from './frames.js'
import { checkRoomName, Rooms } from './rooms.js'
import { VOLATILE, type EventsState } from './api.js'
import type { BroadcastOptions, BroadcastReport, RoomEmitter } from './types.js'
import type { EventsOptions } from './options.js'
import type { EventsBackend } from './backend.js'

/** The server's half of the API, as `createEventsApi` and `createSessionMethods` install it. */
export interface ServerParts {
  broadcast(name: unknown, data: unknown, opts: BroadcastOptions | undefined, method: string): BroadcastReport
  to(target: string | readonly string[], volatile: boolean): RoomEmitter
  rooms(): string[]
  in(room: string): Session[]
  useBackend(backend: EventsBackend | null): EventsBackend | null
  localBackend(): EventsBackend
  join(this: Session, room: unknown): void
  leave(this: Session, room: unknown): void
  sessionRooms(this: Session): string[]
  clear(): void
}

export function serverOnly(kernel: EchoKernel, what: string, instead: string): void {
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

export function createServerParts(kernel: EchoKernel, options: Readonly<EventsOptions>, state: EventsState, pluginName: string): ServerParts {
  const { maxNameLength } = options
  const { stats } = state
  const rooms = new Rooms()

  if (kernel.role === 'server') {
    // Last, so other plugins' disconnect taps still see `session.rooms()`.
    kernel.hooks.disconnect.tap({ name: pluginName, stage: Stage.LAST }, (session: Session) => {
      const left = state.backend?.left ? rooms.roomsOf(session) : []
      rooms.leaveAll(session)
      for (const room of left) state.backend!.left!(session, room)
    })
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

  return {
    broadcast(name, data, opts, method) {
      checkEventName(name, maxNameLength, method)
      serverOnly(kernel, `events.${method}`, 'on a client, events.emit(name, data) sends to the server.')
      return (state.backend ?? local).publish(null, name, data, opts)
    },

    to(target, volatile) {
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
    },

    rooms() {
      serverOnly(kernel, 'events.rooms', 'rooms live on the server.')
      return rooms.names()
    },

    in(room) {
      serverOnly(kernel, 'events.in', 'rooms live on the server.')
      checkRoomName(room, 'events.in')
      return rooms.members(room)
    },

    useBackend(backend) {
      serverOnly(kernel, 'events.useBackend', 'rooms live on the server.')
      const previous = state.backend
      state.backend = backend
      return previous
    },

    localBackend: () => local,

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

    sessionRooms(this: Session): string[] {
      serverOnly(kernel, 'session.rooms', 'rooms live on the server.')
      return rooms.roomsOf(this)
    },

    clear: () => rooms.clear(),
  }
}
