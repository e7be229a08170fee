/**
 * The events plugin's backend in a cluster: `to(room).emit` and `broadcast` go through Redis (one
 * publish per room, whatever the number of nodes and members), and each node delivers to its own
 * members in offset order. A node subscribes to a room's channel while it has members there.
 * While the broker is down, events still reach this node's members (delivered at once) and each
 * is reported as a `publish-failed` gap: other nodes did not get it.
 */
import type { Frame, PluginKernel, Session } from '@echostream/kernel'
import type { BroadcastReport, EventsBackend } from '@echostream/plugin-events'
import type { Broker } from './broker.js'
import type { Channels, ChannelState, Gap } from './channels.js'
import type { ChannelMessage } from './messages.js'
import type { Presence } from './presence.js'
import type { Sessions } from './sessions.js'
import type { DeliveryContext } from './session-log.js'

/** A session being caught up in one channel after a takeover: live events wait until history is delivered. */
interface CatchUp {
  pending: ChannelMessage[]
  /** Set when the history was delivered: live events up to here were already delivered. */
  upTo: number | undefined
}

export interface RoomsDeps {
  kernel: PluginKernel
  broker: Broker
  channels: Channels
  presence: Presence
  sessions: Sessions
  nodeId: string
  /** False: suspended sessions are left out of presence (not refreshed). */
  presenceWhileSuspended: boolean
  delivery: { current: DeliveryContext | undefined }
  gap(gap: Gap): void
  /** Tells a session's client that some of what it missed cannot be recovered. */
  lost(session: Session, detail: Record<string, unknown>): void
}

const cursorField = (room: string | null) => (room === null ? 'bo' : `ro:${room}`)
const EMIT = 'events.emit'
const VOLATILE = Object.freeze({ volatile: true })

export function createRooms(deps: RoomsDeps) {
  const { kernel, broker, channels, presence, sessions, nodeId } = deps
  const local = () => kernel.events.localBackend()
  const catching = new Map<string | null, Map<Session, CatchUp>>()
  /** Sessions rejoining after a takeover: their positions are in Redis already (the catch-up moves them). */
  const rejoining = new WeakSet<Session>()

  function membersOf(room: string | null): Iterable<Session> {
    return room === null ? kernel.sessions() : kernel.events.in(room)
  }

  /** Delivers one channel message to this node's members (or, during a catch-up, holds it). */
  function deliver(channel: ChannelState, message: ChannelMessage): void {
    const room = channel.room
    const held = catching.get(room)
    const targets: Session[] = []
    for (const session of membersOf(room)) {
      const wait = held?.get(session)
      if (wait) {
        if (wait.upTo === undefined) {
          wait.pending.push(message)
          continue
        }
        if (message.offset <= wait.upTo) continue
        held!.delete(session)
      }
      if (eligible(session, room, message)) targets.push(session)
    }
    if (targets.length === 0) return
    const field = cursorField(room)
    const value = `${message.epoch}:${message.offset}`
    // A volatile event may be dropped per session: each logs its own when it is really sent.
    if (!message.volatile) sessions.preLog(targets, message.frame, field, value)
    for (const session of targets) send(session, field, value, message)
    if (!message.volatile) sessions.settlePreLog(targets)
  }

  function eligible(session: Session, room: string | null, message: ChannelMessage): boolean {
    if (session.state !== 'open' && session.state !== 'suspended') return false
    if (message.except?.includes(session.id)) return false
    if (room !== null && message.targets && message.targets.length > 1) {
      // A member of several target rooms gets it through the first of them only.
      const mine = session.rooms()
      for (const target of message.targets) {
        if (target === room) break
        if (mine.includes(target)) return false
      }
    }
    return true
  }

  function deliverTo(session: Session, room: string | null, message: ChannelMessage): void {
    if (eligible(session, room, message)) send(session, cursorField(room), `${message.epoch}:${message.offset}`, message)
  }

  function send(session: Session, field: string, value: string, message: ChannelMessage): void {
    deps.delivery.current = { session, field, value }
    try {
      if (message.volatile) {
        // Never queued for an offline member (stale after a resume), dropped when over budget.
        if (session.state === 'open') session.send(message.frame, VOLATILE)
      } else session.send(message.frame)
    } catch (error) {
      kernel.logger.warn(`cluster: could not deliver '${message.frame.name ?? message.frame.kind}' to ${session.id}: ${(error as Error).message}`)
    } finally {
      deps.delivery.current = undefined
    }
  }

  /** Records where a session starts in a channel (so a takeover knows what it missed). */
  function recordPosition(session: Session, room: string | null): void {
    const channel = channels.ensure(room)
    void channel.ready.then(() => {
      if (room !== null && !session.rooms().includes(room)) return
      sessions.setField(session, cursorField(room), `${channel.epoch}:${channel.offset}`)
    })
  }

  const emptyReport = (sent: number): BroadcastReport => ({ sent, dropped: 0, failed: 0, failures: [] })

  function publishFailed(rooms: readonly string[] | null, name: string, data: unknown, error?: unknown): void {
    for (const room of rooms ?? [null]) deps.gap({ scope: 'publish', room: room ?? undefined, reason: 'publish-failed', event: name, data })
    if (error) kernel.logger.warn(`cluster: publishing '${name}' failed (${(error as Error).message}); delivered on this node only`)
  }

  const backend: EventsBackend = {
    publish(rooms, name, data, opts) {
      if (!broker.ready) {
        // Local traffic goes on without the broker; the event is reported as not published.
        publishFailed(rooms, name, data)
        return local().publish(rooms, name, data, opts)
      }
      const except = opts?.except === undefined ? [] : Array.isArray(opts.except) ? (opts.except as readonly Session[]) : [opts.except as Session]
      const exceptIds = except.length ? except.map((s) => s.id) : null
      const frame: Frame = { kind: EMIT, name, payload: data }
      const volatile = opts?.volatile === true
      for (const room of rooms ?? [null]) {
        channels.publish(room, rooms, exceptIds, frame, volatile).catch((error: unknown) => {
          publishFailed(room === null ? null : [room], name, data, error)
          local().publish(room === null ? null : [room], name, data, opts)
        })
      }
      // Delivered through Redis, in offset order, on every node (this one included): what this node will send.
      const here = rooms === null ? kernel.sessions().length : new Set(rooms.flatMap((r) => kernel.events.in(r))).size
      return emptyReport(here)
    },
    joined(session, room) {
      if (!rejoining.has(session)) recordPosition(session, room)
      if (broker.ready) void presence.join(room, { sessionId: session.id, node: nodeId, user: sessions.get(session)?.user }).catch(() => {})
    },
    left(session, room) {
      catching.get(room)?.delete(session)
      if (!sessions.moved.has(session)) {
        sessions.deleteField(session, cursorField(room))
        if (broker.ready) void presence.leave(room, session.id).catch(() => {})
      }
      if (kernel.events.in(room).length === 0) channels.release(room)
    },
  }

  /** After a takeover: the session rejoins its rooms and gets, from history, what it missed in each. */
  function rejoin(session: Session, rooms: Map<string, string>, broadcast: string): void {
    for (const [room, cursor] of rooms) {
      hold(room, session)
      rejoining.add(session)
      try {
        session.join(room)
      } finally {
        rejoining.delete(session)
      }
      void catchUp(session, room, cursor)
    }
    hold(null, session)
    void catchUp(session, null, broadcast)
  }

  function hold(room: string | null, session: Session): void {
    let held = catching.get(room)
    if (!held) catching.set(room, (held = new Map()))
    held.set(session, { pending: [], upTo: undefined })
  }

  async function catchUp(session: Session, room: string | null, cursor: string): Promise<void> {
    const channel = channels.ensure(room)
    const wait = catching.get(room)?.get(session)
    if (!wait) return
    let upTo = 0
    try {
      await channel.ready
      const at = cursor.indexOf(':')
      const epoch = at < 0 ? '' : cursor.slice(0, at)
      const from = at < 0 ? 0 : Number(cursor.slice(at + 1)) || 0
      if (epoch !== '') {
        const history = await channels.history(channel.keys, from)
        const messages = history.messages
        const detail = { room: room ?? undefined }
        if (history.epoch !== epoch) deps.lost(session, { ...detail, reason: 'epoch' })
        else {
          if ((messages[0] && messages[0].offset > from + 1) || (!messages[0] && history.offset > from)) deps.lost(session, { ...detail, reason: 'trimmed' })
          else if ((messages.at(-1)?.offset ?? from) < history.offset) deps.lost(session, { ...detail, reason: 'limit' })
          upTo = from
          for (const message of messages) {
            if (message.offset <= upTo) continue
            upTo = message.offset
            deliverTo(session, room, message)
          }
        }
      }
      // (No position: it had joined but got nothing yet. Everything held since the rejoin is new.)
    } catch (error) {
      deps.lost(session, { room: room ?? undefined, reason: 'broker-down' })
      kernel.logger.warn(`cluster: catching up session ${session.id} failed: ${(error as Error).message}`)
    }
    for (const message of wait.pending) {
      if (message.offset <= upTo) continue
      upTo = message.offset
      deliverTo(session, room, message)
    }
    wait.pending = []
    wait.upTo = upTo
  }

  return {
    backend,
    deliver,
    rejoin,
    /** The position fields of a session (written again after a broker outage). */
    positions(session: Session): Array<string | number> {
      const out: Array<string | number> = []
      for (const room of session.rooms()) {
        const channel = channels.get(room)
        if (channel) out.push(cursorField(room), `${channel.epoch}:${channel.offset}`)
      }
      const all = channels.get(null)
      if (all) out.push('bo', `${all.epoch}:${all.offset}`)
      return out
    },
    /** Every heartbeat: refresh this node's presence entries. */
    refresh(): void {
      if (!broker.ready) return
      for (const session of kernel.sessions()) {
        if (sessions.moved.has(session)) continue
        if (!deps.presenceWhileSuspended && session.state === 'suspended') continue
        const member = { sessionId: session.id, node: nodeId, user: sessions.get(session)?.user }
        void presence.join('', member).catch(() => {})
        for (const room of session.rooms()) void presence.join(room, member).catch(() => {})
      }
    },
  }
}

export type Rooms = ReturnType<typeof createRooms>
