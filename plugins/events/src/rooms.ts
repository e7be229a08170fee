/**
 * Server-side room membership, indexed both ways: room → sessions (for `to(room).emit`) and
 * session → rooms (for `session.rooms()` and removal on disconnect). An empty room is deleted.
 */
import type { Session } from '@echostream/kernel'
import { eventsErrors } from './errors.js'

export function checkRoomName(room: unknown, method: string): asserts room is string {
  if (typeof room !== 'string' || room.length === 0) {
    throw eventsErrors.badRoom(method, room)
  }
}

export class Rooms {
  #members = new Map<string, Set<Session>>()
  #roomsOf = new Map<Session, Set<string>>()

  /** Adds `session` to `room`; false when it was already a member. */
  join(session: Session, room: string): boolean {
    let members = this.#members.get(room)
    if (members?.has(session)) return false
    if (!members) this.#members.set(room, (members = new Set()))
    members.add(session)
    let rooms = this.#roomsOf.get(session)
    if (!rooms) this.#roomsOf.set(session, (rooms = new Set()))
    rooms.add(room)
    return true
  }

  /** Removes `session` from `room`; false when it was not a member. */
  leave(session: Session, room: string): boolean {
    const members = this.#members.get(room)
    if (!members?.delete(session)) return false
    if (members.size === 0) this.#members.delete(room)
    const rooms = this.#roomsOf.get(session)
    rooms?.delete(room)
    if (rooms?.size === 0) this.#roomsOf.delete(session)
    return true
  }

  /** Removes `session` from every room (disconnect). */
  leaveAll(session: Session): void {
    const rooms = this.#roomsOf.get(session)
    if (!rooms) return
    this.#roomsOf.delete(session)
    for (const room of rooms) {
      const members = this.#members.get(room)
      members?.delete(session)
      if (members?.size === 0) this.#members.delete(room)
    }
  }

  roomsOf(session: Session): string[] {
    return [...(this.#roomsOf.get(session) ?? [])]
  }

  /** Room names with at least one member. */
  names(): string[] {
    this.#prune()
    return [...this.#members.keys()]
  }

  /** The open sessions in `room`. */
  members(room: string): Session[] {
    const members = this.#members.get(room)
    if (!members) return []
    const open: Session[] = []
    for (const session of members) {
      if (session.state === 'closed') this.leaveAll(session)
      else open.push(session)
    }
    return open
  }

  /** Every session in any of `rooms`, once each (a session in two of them is listed once). */
  union(rooms: Iterable<string>): Set<Session> {
    const all = new Set<Session>()
    for (const room of rooms) {
      const members = this.#members.get(room)
      if (members) for (const session of members) all.add(session)
    }
    return all
  }

  clear(): void {
    this.#members.clear()
    this.#roomsOf.clear()
  }

  /**
   * Drops sessions that closed without a `disconnect` (the kernel runs `disconnect` only for sessions
   * that completed the handshake, so one that joined in a `connect` tap and was then refused by a
   * later tap would otherwise stay listed).
   */
  #prune(): void {
    for (const session of this.#roomsOf.keys()) if (session.state === 'closed') this.leaveAll(session)
  }
}
