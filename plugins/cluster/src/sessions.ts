/**
 * Server side of "resume on any node": the taps that keep each resumable session's state, replay
 * log and RPC cache in Redis, and the takeover that continues a session another node held.
 * See session-log.ts for why each command is issued before the frame it records moves on.
 */
import { randomBytes } from 'node:crypto'
import { CloseCodes, EchoError, Stage, type Frame, type HelloPayload, type PluginKernel, type Session } from '@echostream/kernel'
import type { Broker } from './broker.js'
import type { ClusterKeys } from './keys.js'
import { clusterErrors } from './errors.js'
import { pack, unpack } from './messages.js'
import type { ClusterOptions } from './options.js'
import type { Gap } from './channels.js'
import { isRpcReply, newTracked, parseRpc, parseState, RPC_REQUEST, type DeliveryContext, type TrackedSession } from './session-log.js'

const PLUGIN = 'cluster'
const ACK = 'reconnect.ack'

export interface ResumeRequest {
  sessionId: string
  token: string
  received: number
  /** The client still holds the frames it sent after this count (absent from older clients). */
  keptAfter?: number
}

export interface SessionsDeps {
  kernel: PluginKernel
  broker: Broker
  keys: ClusterKeys
  options: Readonly<ClusterOptions>
  nodeId: string
  /** Reconnect's options (grace, volatile kinds), or undefined when reconnect is not loaded. */
  reconnect: { graceMs: number; volatile: readonly string[] } | undefined
  /** The frame a room delivery is sending right now (set around `session.send`). */
  delivery: { current: DeliveryContext | undefined }
  /** After `welcome` of an adopted session: rejoin its rooms and catch up. */
  rejoin(session: Session, rooms: Map<string, string>, broadcast: string): void
  /** A frame this node could not log because another node holds the session now: send it there. */
  forward(node: string, sessionId: string, frame: Frame): void
  emit(event: 'recovery', data: Record<string, unknown>): void
  gap(gap: Gap): void
}

export function setupSessions(deps: SessionsDeps) {
  const { kernel, broker, keys, options, nodeId, reconnect } = deps
  const tracked = new Map<Session, TrackedSession>()
  /** Sessions whose Redis state another node owns now (checked by the rooms backend on leave). */
  const moved = new WeakSet<Session>()
  const ttl = () => (reconnect?.graceMs ?? 0) + options.nodeTtlMs
  const volatile = reconnect?.volatile ?? []
  const isCounted = (kind: string) => kind !== ACK && !volatile.some((prefix) => kind.startsWith(prefix))
  const codec = () => kernel.codec!
  // (A local resume replays with `kernel.writeEncoded`: no taps run, nothing is counted twice.)

  function markDirty(t: TrackedSession): void {
    if (t.stored) t.dirty = true
  }

  // ------------------------------------------------------------------ resume on this node

  kernel.hooks.connect.tapPromise({ name: PLUGIN, stage: Stage.EARLY }, async (session: Session) => {
    const request = (session.handshake as HelloPayload).resume as Partial<ResumeRequest> | undefined
    if (!reconnect || !request || typeof request.sessionId !== 'string' || typeof request.token !== 'string' || !Number.isSafeInteger(request.received)) return
    const t = newTracked(session)
    tracked.set(session, t)
    if (kernel.getSession(request.sessionId)) {
      // Held here but reconnect refused it (its replay buffer overflowed, or the old link is not yet seen dead).
      t.resumeFailure = 'refused'
      return
    }
    if (!broker.ready) {
      t.resumeFailure = 'broker-down'
      return
    }
    const epoch = (session.handshake as { cluster?: { epoch?: unknown } }).cluster?.epoch
    const k = keys.session(request.sessionId)
    let reply: unknown[]
    try {
      const keptAfter = Number.isSafeInteger(request.keptAfter) ? request.keptAfter! : 0
      reply = (await broker.run('takeover', [k.state, k.log, k.rpc], [request.token, nodeId, request.received!, options.replayFrames, ttl(), keys.nodePrefix, typeof epoch === 'string' ? epoch : '', request.sessionId, keptAfter], true)) as unknown[]
    } catch (error) {
      kernel.logger.warn(`cluster: taking over session ${request.sessionId} failed: ${(error as Error).message}`)
      t.resumeFailure = 'broker-down'
      return
    }
    const status = String(reply[0])
    if (status !== 'ok') {
      t.resumeFailure = status === 'gone' ? 'expired' : status
      return
    }
    const { fields, data } = parseState(reply[2] as unknown[])
    const { running, answered } = parseRpc(reply[4] as unknown[])
    // The session continues here under its own id (the kernel registers it after `connect`).
    ;(session as { id: string }).id = request.sessionId
    t.id = request.sessionId
    t.gen = Number(reply[1])
    t.epoch = fields.get('epoch') ?? ''
    t.token = request.token
    t.stored = true
    const entries = (reply[3] as unknown[]).map((e) => new Uint8Array((e as [Buffer, Buffer[]])[1][1]!))
    t.sent = request.received! + entries.length
    t.received = Number(fields.get('rcv') ?? 0)
    t.persist = true
    t.user = fields.get('user') || undefined
    for (const [id, bytes] of answered) t.rpc.set(id, { state: 'answered', bytes, seq: 0 })
    for (const { id, method } of running) t.rpc.set(id, { state: 'interrupted', method })
    if (data) {
      try {
        const restored = unpack(data) as Record<string, unknown>
        for (const [key, value] of Object.entries(restored)) session.data.set(key, value as never)
        t.dataSnapshot = data
      } catch {
        kernel.logger.warn(`cluster: the saved data of session ${t.id} could not be read; it starts empty`)
      }
    }
    const done = Number(fields.get('done') ?? t.received)
    if (done < t.received) {
      // Claimed, but the node died before it recorded the handler as run: it may or may not have.
      t.inDoubt = { from: done + 1, to: t.received }
    }
    const rooms = new Map<string, string>()
    for (const [field, value] of fields) if (field.startsWith('ro:')) rooms.set(field.slice(3), value)
    t.adoption = { entries, rooms, broadcast: fields.get('bo') ?? '', interrupted: running }
    kernel.reconnect.adopt(session, { token: request.token, sent: request.received!, replay: entries, received: t.received })
  })

  kernel.hooks.connect.tap({ name: PLUGIN, stage: Stage.LATE }, (session: Session) => {
    if (!tracked.has(session)) tracked.set(session, newTracked(session))
  })

  kernel.hooks.welcome.tap({ name: PLUGIN, stage: Stage.LATE }, (welcome, session) => {
    const t = tracked.get(session)
    if (!t) return welcome
    t.id = session.id
    if (t.adoption) {
      const adoption = t.adoption
      t.adoption = undefined
      // `welcome` is written right after this hook returns: replay once it is on the wire.
      queueMicrotask(() => replayAdopted(session, t, adoption))
      const inDoubt = t.inDoubt
      t.inDoubt = undefined
      deps.emit('recovery', inDoubt ? { session, recovered: true, inDoubt } : { session, recovered: true })
      if (inDoubt) deps.gap({ scope: 'session', sessionId: t.id, reason: 'in-doubt', from: inDoubt.from, to: inDoubt.to })
      return { ...welcome, cluster: inDoubt ? { node: nodeId, epoch: t.epoch, recovered: true, inDoubt } : { node: nodeId, epoch: t.epoch, recovered: true } }
    }
    const token = (welcome.resume as { token?: unknown } | undefined)?.token
    if (reconnect && typeof token === 'string') {
      t.token = token
      t.epoch = randomBytes(6).toString('hex')
      t.persist = true
    }
    // Every session's state holds the node it is on (routing); a resumable one also its log.
    t.stored = true
    writeState(t)
    const cluster: Record<string, unknown> = { node: nodeId, epoch: t.epoch }
    if (t.resumeFailure) {
      cluster.recovered = false
      cluster.reason = t.resumeFailure
      deps.emit('recovery', { session, recovered: false, reason: t.resumeFailure })
    }
    return { ...welcome, cluster }
  })

  function replayAdopted(session: Session, t: TrackedSession, adoption: NonNullable<TrackedSession['adoption']>): void {
    if (session.state === 'closed') return
    // The exact bytes the node that died sent (reconnect recorded them as sent in `adopt`).
    for (const bytes of adoption.entries) kernel.writeEncoded(session, bytes)
    // Calls that were running on the node that died: settled once, with a code that says so.
    for (const { id, method } of adoption.interrupted) sendSafely(session, { kind: 'rpc.err', id, payload: clusterErrors.interrupted(method).toWire() })
    deps.rejoin(session, adoption.rooms, adoption.broadcast)
  }

  function sendSafely(session: Session, frame: Frame): void {
    try {
      session.send(frame)
    } catch (error) {
      kernel.logger.warn(`cluster: could not send '${frame.kind}' to ${session.id}: ${(error as Error).message}`)
    }
  }

  // ------------------------------------------------------------------ recording

  // After the encode, as reconnect records (the same frames counted: what reached the `sent` hook).
  // The append is written to Redis before the kernel writes the frame to the client.
  kernel.hooks.sent.tap(PLUGIN, (bytes: Uint8Array, frame: Frame, session: Session) => {
    if (!isCounted(frame.kind)) return
    const t = tracked.get(session)
    if (!t) return
    const seq = ++t.sent
    const pre = t.preLogged
    if (pre) {
      t.preLogged = undefined
      if (pre.frame === frame && pre.seq === seq) return // appended with the others of its fan-out
    }
    if (!t.persist || t.moved) return
    const reply = isRpcReply(frame)
    if (reply) {
      t.rpc.set(frame.id!, { state: 'answered', bytes, seq })
      t.answered.push({ seq, id: frame.id! })
      if (t.answered.length > options.replayFrames) forgetOldest(t)
    }
    if (!broker.ready) return markDirty(t)
    const context = deps.delivery.current
    const room = context && context.session === session ? context : undefined
    const k = keys.session(t.id)
    broker
      .run('append', [k.state, k.log, k.rpc], [t.gen, seq, bytes, options.replayFrames, ttl(), room?.field ?? '', room?.value ?? '', reply ? String(frame.id) : ''])
      .then(
        (result) => {
          if (result !== 1) stale(t, String(result), frame)
        },
        () => markDirty(t),
      )
  })

  // First (after reconnect's own first-stage count): claimed before any handler runs.
  kernel.hooks.inbound.tap({ name: PLUGIN, stage: Stage.FIRST }, (frame: Frame | null, session: Session) => {
    if (!frame) return frame
    const t = tracked.get(session)
    if (!t) return frame
    if (!isCounted(frame.kind)) return frame
    t.received++
    let rpcId = ''
    let marker = ''
    if (frame.kind === RPC_REQUEST && typeof frame.id === 'number') {
      const known = t.rpc.get(frame.id)
      if (known) {
        // The client sent this request again (a retry after failover): it never runs twice.
        if (known.state === 'answered') {
          const decoded = codec().decode(known.bytes)
          if (decoded.ok) sendSafely(session, decoded.frame)
        } else if (known.state === 'interrupted') {
          sendSafely(session, { kind: 'rpc.err', id: frame.id, payload: clusterErrors.interrupted(known.method).toWire() })
        }
        claim(t, '', '')
        return null
      }
      t.rpc.set(frame.id, { state: 'running' })
      rpcId = String(frame.id)
      marker = `r:${typeof frame.name === 'string' ? frame.name.slice(0, 200) : ''}`
    }
    claim(t, rpcId, marker)
    return frame
  })

  /**
   * Claims frame `t.received` before it is handled. Claiming n also records n-1 as handled; once
   * this turn's handlers have run, the last one is recorded too. A node killed between a claim and
   * its handler leaves exactly that one frame in doubt, and the node taking over reports it.
   */
  function claim(t: TrackedSession, rpcId: string, marker: string): void {
    if (!t.persist || t.moved) return
    if (!broker.ready) return markDirty(t)
    const k = keys.session(t.id)
    broker.run('claim', [k.state, k.rpc], [t.gen, t.received, rpcId, ttl(), marker, t.received - 1]).catch(() => markDirty(t))
    if (!doneQueued.has(t)) {
      doneQueued.add(t)
      setImmediate(recordDone, t)
    }
  }

  const doneQueued = new Set<TrackedSession>()
  function recordDone(t: TrackedSession): void {
    doneQueued.delete(t)
    if (!t.persist || t.moved || !broker.ready) return
    const k = keys.session(t.id)
    broker.run('claim', [k.state, k.rpc], [t.gen, t.received, '', ttl(), '', t.received]).catch(() => markDirty(t))
  }

  /**
   * Results stay cached for the grace period (the hash's TTL), bounded by count like the replay
   * log: a client may send a request again after a failover even when it had the reply.
   */
  function forgetOldest(t: TrackedSession): void {
    const ids: string[] = []
    while (t.answered.length > options.replayFrames) {
      const { id } = t.answered.shift()!
      t.rpc.delete(id)
      ids.push(String(id))
    }
    if (ids.length && t.persist && broker.ready) broker.cmd.hdel(keys.session(t.id).rpc, ...ids).catch(() => {})
  }

  /** Our append was refused: another node holds the session now (or it is gone from Redis). */
  function stale(t: TrackedSession, owner: string, frame: Frame): void {
    if (owner === '' || owner === nodeId) {
      t.persist = false
      return
    }
    if (!t.moved) leaveTo(t, owner)
    // Sent here while its client was already on the other node: deliver it there instead of losing it.
    if (frame.kind === 'events.emit') deps.forward(owner, t.id, frame)
  }

  function leaveTo(t: TrackedSession, owner: string): void {
    t.moved = true
    moved.add(t.session)
    if (t.session.state !== 'closed') t.session.close(`session moved to node ${owner}`, CloseCodes.goingAway)
  }

  kernel.hooks.disconnect.tap(PLUGIN, (session: Session) => {
    const t = tracked.get(session)
    if (!t) return
    tracked.delete(session)
    if (t.moved || !t.stored) return
    if (t.persist && kernel.state === 'stopping') {
      // This node is going away (1001): its clients resume elsewhere, so their state stays.
      return
    }
    // Ended for good (closed by either side, or its grace ran out): nobody may resume it.
    if (!broker.ready) return
    const k = keys.session(t.id)
    broker.cmd.del(k.state, k.log, k.rpc).catch(() => {})
    if (t.user) broker.cmd.srem(keys.user(t.user), t.id).catch(() => {})
  })

  // ------------------------------------------------------------------ state in Redis

  function stateFields(t: TrackedSession): Array<string | number | Buffer> {
    const fields: Array<string | number | Buffer> = ['token', t.token, 'gen', t.gen, 'node', nodeId, 'epoch', t.epoch, 'sent', t.sent, 'rcv', t.received]
    if (t.user) fields.push('user', t.user)
    const data = snapshot(t.session)
    if (data) {
      fields.push('data', data)
      t.dataSnapshot = data
    }
    return fields
  }

  function snapshot(session: Session): Buffer | undefined {
    const keysOf = [...session.data.keys()]
    if (keysOf.length === 0) return undefined
    const out: Record<string, unknown> = {}
    for (const key of keysOf) out[key] = session.data.get(key)
    try {
      return pack(out)
    } catch {
      return undefined
    }
  }

  /** Writes a session's whole state (new session, or again after a broker outage: its log restarts there). */
  function writeState(t: TrackedSession, extra: Array<string | number> = []): void {
    const k = keys.session(t.id)
    t.dirty = false
    broker.run('sessionPut', [k.state, k.log], [ttl(), ...stateFields(t), ...extra]).then(
      (ok) => {
        if (ok !== 1) leaveTo(t, 'another node')
      },
      () => markDirty(t),
    )
  }

  /**
   * A room event about to go to several sessions of this node: one script appends it to all their
   * logs (a command on Redis' socket before any of the frames is written), instead of one per
   * session — the same ordering, a fraction of the round trips.
   */
  function preLog(targets: readonly Session[], frame: Frame, field: string, value: string): void {
    if (!broker.ready) return
    const list: TrackedSession[] = []
    for (const session of targets) {
      const t = tracked.get(session)
      if (t?.persist && !t.moved && !t.dirty) list.push(t)
    }
    if (list.length < 2) return
    let bytes: Uint8Array
    try {
      bytes = codec().encode(frame)
    } catch {
      return
    }
    const keyList: string[] = []
    const args: Array<string | number | Uint8Array> = [bytes, options.replayFrames, ttl(), field, value]
    for (const t of list) {
      const k = keys.session(t.id)
      keyList.push(k.state, k.log)
      t.preLogged = { frame, seq: t.sent + 1 }
      args.push(t.gen, t.sent + 1)
    }
    broker.run('appendMany', keyList, args).then(
      (results) => {
        ;(results as unknown[]).forEach((result, i) => {
          const t = list[i]!
          if (result === 'err') markDirty(t)
          else if (result !== 1) stale(t, String(result), frame)
        })
      },
      () => {
        for (const t of list) markDirty(t)
      },
    )
  }

  /** After the fan-out: a session the frame did not reach (its send failed) must not keep it in its log. */
  function settlePreLog(targets: readonly Session[]): void {
    for (const session of targets) {
      const t = tracked.get(session)
      if (!t?.preLogged) continue
      const { seq } = t.preLogged
      t.preLogged = undefined
      if (!broker.ready) continue
      const k = keys.session(t.id)
      broker.cmd.xdel(k.log, `${seq}-0`).catch(() => markDirty(t))
      broker.cmd.hset(k.state, 'sent', t.sent).catch(() => markDirty(t))
    }
  }

  return {
    tracked,
    moved,
    preLog,
    settlePreLog,
    get(session: Session): TrackedSession | undefined {
      return tracked.get(session)
    },
    /** Every heartbeat: keep the local sessions' state alive and its data current. */
    heartbeat(): void {
      if (!broker.ready) return
      const pipeline = broker.cmd.pipeline()
      for (const t of tracked.values()) {
        if (!t.stored || t.moved || t.dirty) continue
        const k = keys.session(t.id)
        pipeline.pexpire(k.state, ttl())
        if (!t.persist) continue
        pipeline.pexpire(k.log, ttl())
        pipeline.pexpire(k.rpc, ttl())
        const data = snapshot(t.session)
        if (data && (!t.dataSnapshot || !data.equals(t.dataSnapshot))) {
          t.dataSnapshot = data
          pipeline.hset(k.state, 'data', data)
        }
      }
      if (pipeline.length) pipeline.exec().catch(() => {})
    },
    /** After a broker outage (or a Redis that lost its data): write every local session's state again. */
    resync(roomFields: (session: Session) => Array<string | number>): void {
      for (const t of tracked.values()) if (t.stored && !t.moved) writeState(t, t.persist ? roomFields(t.session) : [])
    },
    /** Sets a field of a session's state (room positions). */
    setField(session: Session, field: string, value: string): void {
      const t = tracked.get(session)
      if (!t?.persist || t.moved || !broker.ready) return
      broker.cmd.hset(keys.session(t.id).state, field, value).catch(() => markDirty(t))
    },
    deleteField(session: Session, field: string): void {
      const t = tracked.get(session)
      if (!t?.persist || t.moved || !broker.ready) return
      broker.cmd.hdel(keys.session(t.id).state, field).catch(() => markDirty(t))
    },
    /** Another node took the session over (its takeover script told us). */
    movedAway(sessionId: string, gen: number): void {
      for (const t of tracked.values()) if (t.id === sessionId && t.gen < gen) leaveTo(t, 'another node')
    },
    bindUser(session: Session, user: string): void {
      const t = tracked.get(session)
      if (!t) throw clusterErrors.invalidArgument(`cluster.bindUser: session ${session.id} is not connected to this node.`)
      t.user = user
      if (!broker.ready) return markDirty(t)
      broker.cmd.sadd(keys.user(user), t.id).catch(() => markDirty(t))
      if (t.stored) broker.cmd.hset(keys.session(t.id).state, 'user', user).catch(() => markDirty(t))
    },
    /** Saves `session.data` to Redis now (it is also saved every heartbeat when it changed). */
    async save(session: Session): Promise<void> {
      const t = tracked.get(session)
      if (!t?.persist) return
      const data = snapshot(session)
      if (!data) return
      t.dataSnapshot = data
      try {
        await broker.cmd.hset(keys.session(t.id).state, 'data', data)
      } catch (error) {
        markDirty(t)
        throw clusterErrors.brokerDown('cluster.save', error)
      }
    },
  }
}

export type Sessions = ReturnType<typeof setupSessions>
export { EchoError }
