/**
 * A cluster node: wires the broker, channels, presence, sessions and routing into the kernel's
 * lifecycle, and keeps readiness equal to the broker's state (centrifugo#1189: pub/sub silently
 * stuck while health stayed green — here a lost subscription turns the node not-ready at once).
 */
import { randomBytes } from 'node:crypto'
import { Stage, type PluginKernel, type Session } from '@echostream/kernel'
import { Broker } from './broker.js'
import { Channels, type Gap } from './channels.js'
import { clusterErrors } from './errors.js'
import { createKeys } from './keys.js'
import { unpack } from './messages.js'
import type { ClusterOptions } from './options.js'
import { parseInfo, Presence, type PresenceChange } from './presence.js'
import { createRooms } from './rooms.js'
import { createRouting } from './routing.js'
import { setupSessions } from './sessions.js'
import type { DeliveryContext } from './session-log.js'
import type { ClusterApi, ClusterEvent, ClusterHealth } from './types.js'

const PLUGIN = 'cluster'

export function setupServer(kernel: PluginKernel, options: Readonly<ClusterOptions>, emit: (event: ClusterEvent, data: unknown) => void): Omit<ClusterApi, 'on'> {
  if (!('events' in kernel)) throw clusterErrors.config('The cluster plugin needs @echostream/plugin-events on the server (rooms and broadcasts go through it): add it before cluster.')
  const nodeId = options.nodeId || randomBytes(6).toString('hex')
  const keys = createKeys(options.namespace)
  const reconnectOptions = kernel.plugins().find((p) => p.name === 'reconnect')?.options as { graceMs: number; volatile: string[] } | undefined
  const broker = new Broker(options.redisUrl, (message) => kernel.logger.warn(`cluster: ${message}`))
  const delivery: { current: DeliveryContext | undefined } = { current: undefined }
  const gap = (g: Gap) => emit('gap', g)
  // Rooms and sessions refer to each other (delivery ↔ takeover): bound late through these.
  let rooms: ReturnType<typeof createRooms>

  const channels = new Channels(broker, keys, {
    nodeId,
    roomHistory: options.roomHistory,
    roomHistoryTtlMs: options.roomHistoryTtlMs,
    catchUpLimit: options.catchUpLimit,
    deliver: (channel, message) => rooms.deliver(channel, message),
    gap,
    logError: (message) => kernel.logger.warn(message),
  })
  const presence = new Presence(broker, keys, options.nodeTtlMs)
  const routing = createRouting({ kernel, broker, keys, nodeId, requestTimeoutMs: options.requestTimeoutMs })
  const sessions = setupSessions({
    kernel,
    broker,
    keys,
    options,
    nodeId,
    reconnect: reconnectOptions && { graceMs: reconnectOptions.graceMs, volatile: reconnectOptions.volatile },
    delivery,
    rejoin: (session, r, broadcast) => rooms.rejoin(session, r, broadcast),
    forward: (node, sessionId, frame) => routing.forward(node, sessionId, frame),
    emit: (event, data) => emit(event, data),
    gap,
  })
  rooms = createRooms({
    kernel,
    broker,
    channels,
    presence,
    sessions,
    nodeId,
    presenceWhileSuspended: options.presenceWhileSuspended,
    delivery,
    gap,
    lost(session, detail) {
      emit('recovery', { session, recovered: false, ...detail })
      try {
        session.emit('$cluster.recovery', { recovered: false, ...detail })
      } catch {
        // closed meanwhile
      }
    },
  })

  const member = (session: Session) => ({ sessionId: session.id, node: nodeId, user: sessions.get(session)?.user })

  // Online presence and the broadcast position of every new session.
  kernel.hooks.welcome.tap({ name: PLUGIN, stage: Stage.LAST }, (welcome, session) => {
    if (broker.ready) void presence.join('', member(session)).catch(() => {})
    const t = sessions.get(session)
    if (t?.persist && (welcome.cluster as { recovered?: boolean } | undefined)?.recovered !== true) {
      const all = channels.ensure(null)
      void all.ready.then(() => sessions.setField(session, 'bo', `${all.epoch}:${all.offset}`))
    }
    return welcome
  })
  kernel.hooks.disconnect.tap(PLUGIN, (session: Session) => {
    if (sessions.moved.has(session) || !broker.ready) return
    void presence.leave('', session.id, kernel.state === 'stopping' ? 'node-stopping' : 'left').catch(() => {})
  })

  // presenceWhileSuspended: false — presence says who is connected now: a lost connection leaves
  // at once (not after the grace period), a resume on this node joins again (on another node,
  // its welcome does).
  if (!options.presenceWhileSuspended && 'reconnect' in kernel) {
    const scopes = (session: Session) => ['', ...session.rooms()]
    kernel.reconnect.on('suspended', (event) => {
      const session = (event as { session: Session }).session
      if (!broker.ready || sessions.moved.has(session)) return
      for (const scope of scopes(session)) void presence.leave(scope, session.id, 'suspended').catch(() => {})
    })
    kernel.reconnect.on('resumed', (event) => {
      const session = (event as { session: Session }).session
      if (!broker.ready || session.state !== 'open') return
      const info = member(session)
      for (const scope of scopes(session)) void presence.join(scope, info).catch(() => {})
    })
  }

  let heartbeatTimer: ReturnType<typeof setInterval> | undefined
  let sweepTimer: ReturnType<typeof setTimeout> | undefined

  function nodeDown(node: string): void {
    routing.nodeDown(node)
    emit('node-down', { node })
    // Its presence entries expire with it (same TTL, refreshed a moment later): read them once they have.
    clearTimeout(sweepTimer)
    sweepTimer = setTimeout(() => void presence.sweep().catch(() => {}), options.heartbeatMs)
    sweepTimer.unref?.()
  }

  async function heartbeat(): Promise<void> {
    if (!broker.ready) return
    // Dead nodes are announced on the control channel by the script (once); every node, this one
    // included, reacts when it hears it.
    await broker.run('heartbeat', [keys.nodes], [nodeId, options.nodeTtlMs, keys.control])
    rooms.refresh()
    sessions.heartbeat()
  }

  function onControl(raw: Buffer): void {
    let message: unknown
    try {
      message = unpack(raw)
    } catch {
      return
    }
    if (!Array.isArray(message)) return
    const [type] = message
    if (type === 'join' || type === 'leave') {
      const [, room, memberId, info, reason] = message as [string, string, string, string, string | undefined]
      const change: PresenceChange = { type, room, ...parseInfo(memberId, info) }
      if (reason) change.reason = reason
      emit('presence', change)
    } else if (type === 'down' && message[1] !== nodeId) {
      nodeDown(String(message[1]))
    }
  }

  function onNodeMessage(raw: Buffer): void {
    let message: unknown
    try {
      message = unpack(raw)
    } catch {
      return
    }
    if (!Array.isArray(message)) return
    if (message[0] === 'moved') sessions.movedAway(String(message[1]), Number(message[2]))
    else routing.onMessage(message)
  }

  broker.on('down', (since) => {
    emit('unready', { since })
  })
  broker.on('up', () => {
    // Resubscribed by ioredis already. Redis may have lost everything (a restart without
    // persistence): state this node owns is written again, then every channel reads what it missed.
    void (async () => {
      try {
        await heartbeat()
        sessions.resync((session) => rooms.positions(session))
        channels.resyncAll()
      } catch (error) {
        kernel.logger.warn(`cluster: resync after the broker came back failed: ${(error as Error).message}`)
      }
      if (broker.ready) emit('ready', { downMs: Date.now() - broker.downSince })
    })()
  })

  kernel.hooks.start.tapPromise(PLUGIN, async () => {
    await broker.connect(options.connectTimeoutMs)
    await broker.subscribe(keys.node(nodeId), onNodeMessage)
    await broker.subscribe(keys.control, onControl)
    await channels.ensure(null).ready
    await heartbeat()
    kernel.events.useBackend(rooms.backend)
    heartbeatTimer = setInterval(() => void heartbeat().catch(() => {}), options.heartbeatMs)
    heartbeatTimer.unref?.()
  })
  kernel.hooks.stop.tap(PLUGIN, () => {
    clearInterval(heartbeatTimer)
    clearTimeout(sweepTimer)
    routing.closeAll()
  })
  // After the sessions closed (their disconnect taps still talk to Redis).
  kernel.hooks.destroy.tapPromise(PLUGIN, async () => {
    if ('events' in kernel) kernel.events.useBackend(null)
    if (broker.ready) await broker.cmd.zrem(keys.nodes, nodeId).catch(() => {})
    broker.close()
  })

  return {
    get nodeId() {
      return nodeId
    },
    get ready() {
      return broker.ready
    },
    health(): ClusterHealth {
      return { ready: broker.ready, broker: broker.state, node: nodeId, downSince: broker.state === 'down' ? broker.downSince : undefined, sessions: sessions.tracked.size }
    },
    presence: (room) => presence.read(room),
    online: () => presence.read(''),
    session: (id) => routing.session(id),
    user(id) {
      return {
        async emit(name, data) {
          if (!broker.ready) throw clusterErrors.brokerDown(`emit('${name}') to user ${id}`)
          const ids = await broker.cmd.smembers(keys.user(id))
          let reached = 0
          for (const sessionId of ids) {
            try {
              await routing.session(sessionId).emit(name, data)
              reached++
            } catch (error) {
              if ((error as { code?: string }).code === 'E_SESSION_GONE') void broker.cmd.srem(keys.user(id), sessionId).catch(() => {})
            }
          }
          return reached
        },
      }
    },
    bindUser(session, user) {
      sessions.bindUser(session, user)
      // Presence entries carry the user: announce the change now, not at the next heartbeat.
      if (!broker.ready || session.state !== 'open') return
      const info = member(session)
      void presence.join('', info).catch(() => {})
      for (const room of session.rooms()) void presence.join(room, info).catch(() => {})
    },
    save: (session) => sessions.save(session),
  }
}
