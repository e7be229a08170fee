/**
 * Reaching a session (or a user's sessions) wherever it is connected. The `route` script looks up
 * the node that holds the session and publishes to that node's channel in one step: a session that
 * ended anywhere fails at once with E_SESSION_GONE, one whose node is dead with E_SESSION_OFFLINE —
 * never a timeout. A request pending on a node that dies fails with E_NODE_LOST when the death is
 * detected (node TTL), not at its deadline.
 */
import { randomBytes } from 'node:crypto'
import { EchoError, type Frame, type PluginKernel, type Session } from '@echostream/kernel'
import type { Broker } from './broker.js'
import type { ClusterKeys } from './keys.js'
import type {} from '@echostream/plugin-rpc'
import { clusterErrors } from './errors.js'
import { pack } from './messages.js'

export interface RequestOptions {
  timeoutMs?: number
}

/** A session anywhere in the cluster. */
export interface RemoteSession {
  readonly id: string
  /** Sends an event to the session's client. Resolves once the node holding it has it. */
  emit(name: string, data?: unknown): Promise<void>
  /** Calls a method the session's client handles (`client.rpc.handle`). */
  request<R = unknown>(method: string, params?: unknown, options?: RequestOptions): Promise<R>
}

interface Pending {
  node: string
  what: string
  resolve(value: unknown): void
  reject(error: EchoError): void
  timer: ReturnType<typeof setTimeout>
}

export interface RoutingDeps {
  kernel: PluginKernel
  broker: Broker
  keys: ClusterKeys
  nodeId: string
  requestTimeoutMs: number
}

const isOpen = (s: Session | undefined): s is Session => s !== undefined && (s.state === 'open' || s.state === 'suspended')

/** `session.request` (rpc plugin) with a method name only known at run time. */
type UntypedRequest = (method: string, params: unknown, options: { timeoutMs: number }) => Promise<unknown>
const requestOn = (session: Session, method: string, params: unknown, timeoutMs: number) => (session.request as unknown as UntypedRequest).call(session, method, params, { timeoutMs })

export function createRouting(deps: RoutingDeps) {
  const { kernel, broker, keys, nodeId } = deps
  const pending = new Map<string, Pending>()

  /** Publishes `message` to the node holding `sessionId`; returns that node. */
  async function route(sessionId: string, message: unknown[], what: string): Promise<string> {
    if (!broker.ready) throw clusterErrors.brokerDown(what)
    let result: unknown
    try {
      result = await broker.run('route', [keys.session(sessionId).state, keys.nodes], [keys.nodePrefix, pack(message)])
    } catch (error) {
      throw clusterErrors.brokerDown(what, error)
    }
    if (result === 'gone') throw clusterErrors.sessionGone(sessionId)
    if (result === 'offline') throw clusterErrors.sessionOffline(sessionId)
    return String(result)
  }

  function session(id: string): RemoteSession {
    if (typeof id !== 'string' || id.length === 0) throw clusterErrors.invalidArgument(`cluster.session(id): id must be a non-empty session id, got ${typeof id}.`)
    return {
      id,
      async emit(name, data) {
        const here = kernel.getSession(id)
        if (isOpen(here)) {
          here.emit(name, data)
          return
        }
        await route(id, ['frame', id, 'events.emit', name, data ?? null, null], `emit('${name}') to session ${id}`)
      },
      async request(method, params, options) {
        const timeoutMs = options?.timeoutMs ?? deps.requestTimeoutMs
        const here = kernel.getSession(id)
        if (isOpen(here)) return requestOn(here, method, params, timeoutMs) as Promise<never>
        const what = `request('${method}') to session ${id}`
        const reqId = `${nodeId}.${randomBytes(6).toString('hex')}`
        const reply = new Promise<unknown>((resolve, reject) => {
          const timer = setTimeout(() => {
            pending.delete(reqId)
            reject(clusterErrors.timeout(what, timeoutMs))
          }, timeoutMs)
          pending.set(reqId, { node: '', what, resolve, reject, timer })
        })
        reply.catch(() => {})
        try {
          const node = await route(id, ['req', reqId, nodeId, id, method, params ?? null, timeoutMs], what)
          const entry = pending.get(reqId)
          if (entry) entry.node = node
        } catch (error) {
          settle(reqId, false, error)
        }
        return reply as never
      },
    }
  }

  function settle(reqId: string, ok: boolean, value: unknown): void {
    const entry = pending.get(reqId)
    if (!entry) return
    pending.delete(reqId)
    clearTimeout(entry.timer)
    if (ok) entry.resolve(value)
    else entry.reject(EchoError.is(value) ? value : EchoError.fromWire(value))
  }

  /** A message on this node's channel. */
  function onMessage(message: unknown[]): void {
    const [type] = message
    if (type === 'frame') {
      const [, sessionId, kind, name, payload, meta] = message as [string, string, string, string | null, unknown, Record<string, unknown> | null]
      const target = kernel.getSession(sessionId)
      if (!isOpen(target)) return kernel.logger.warn(`cluster: a routed '${kind}' for session ${sessionId} arrived after it left this node`)
      const frame: Frame = { kind }
      if (name !== null) frame.name = name
      if (payload !== null) frame.payload = payload
      if (meta) frame.meta = meta
      try {
        target.send(frame)
      } catch (error) {
        kernel.logger.warn(`cluster: could not deliver a routed '${kind}' to ${sessionId}: ${(error as Error).message}`)
      }
    } else if (type === 'req') {
      const [, reqId, from, sessionId, method, params, timeoutMs] = message as [string, string, string, string, string, unknown, number]
      const reply = (ok: boolean, value: unknown) => {
        if (!broker.ready) return
        broker.cmd.publish(keys.node(from), pack(['res', reqId, ok, value])).catch(() => {})
      }
      const target = kernel.getSession(sessionId)
      if (!isOpen(target)) return reply(false, clusterErrors.sessionOffline(sessionId).toWire())
      Promise.resolve()
        .then(() => requestOn(target, method, params, timeoutMs))
        .then(
          (value) => reply(true, value),
          (error: unknown) => reply(false, EchoError.from(error).toWire()),
        )
    } else if (type === 'res') {
      const [, reqId, ok, value] = message as [string, string, boolean, unknown]
      settle(reqId, ok, value)
    }
  }

  return {
    session,
    onMessage,
    /** Sends a frame this node could not deliver to the node that holds the session now. */
    forward(node: string, sessionId: string, frame: Frame): void {
      if (!broker.ready) return
      broker.cmd.publish(keys.node(node), pack(['frame', sessionId, frame.kind, frame.name ?? null, frame.payload ?? null, frame.meta ?? null])).catch(() => {})
    },
    /** A node died: requests pending there fail now, with a code that says the outcome is unknown. */
    nodeDown(node: string): void {
      for (const [reqId, entry] of pending) if (entry.node === node) settle(reqId, false, clusterErrors.nodeLost(node, entry.what))
    },
    closeAll(): void {
      for (const reqId of [...pending.keys()]) settle(reqId, false, clusterErrors.brokerDown('a routed request (the node is stopping)'))
    },
  }
}

export type Routing = ReturnType<typeof createRouting>
