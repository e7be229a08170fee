/** Public types of the cluster plugin. */
import type { Session } from '@echostream/kernel'
import type { Gap } from './channels.js'
import type { PresenceChange, PresenceMember } from './presence.js'
import type { RemoteSession } from './routing.js'
import type { BrokerState } from './broker.js'

/**
 * Server: `ready` / `unready` (broker state), `gap` (events that may be missing, see Gap),
 * `presence` (joins and leaves on every node), `node-down`, `recovery` (a resume here: recovered or
 * not). Client: `recovery` ({ recovered, reason?, room? }), `failover` ({ url } before each attempt).
 */
export type ClusterEvent = 'ready' | 'unready' | 'gap' | 'presence' | 'node-down' | 'recovery' | 'failover'

export interface ClusterHealth {
  /** True while Redis is reachable and subscribed: the node serves cross-node traffic. */
  ready: boolean
  broker: BrokerState
  node: string
  /** Since when (ms) the broker is down. */
  downSince: number | undefined
  /** Sessions this node holds. */
  sessions: number
}

export interface UserTarget {
  /** Sends an event to every session the user is bound to (`bindUser`), on any node. Resolves with how many were reached. */
  emit(name: string, data?: unknown): Promise<number>
}

export interface ClusterApi {
  /** Subscribes to a cluster event; returns its unsubscribe. */
  on(event: 'gap', listener: (gap: Gap) => void): () => void
  on(event: 'presence', listener: (change: PresenceChange) => void): () => void
  on(event: ClusterEvent, listener: (data: Record<string, unknown>) => void): () => void
  /** Server: this node's id. Client: the node it is connected to (from `welcome`). */
  readonly nodeId: string
  /** Server: the broker is up (readiness). Client: connected. */
  readonly ready: boolean
  /** Server: readiness and broker state, for a health endpoint. */
  health(): ClusterHealth
  /** Server: who is in `room`, on every node (members whose node died are removed and reported as leaves). */
  presence(room: string): Promise<PresenceMember[]>
  /** Server: every session connected to any node. */
  online(): Promise<PresenceMember[]>
  /** Server: a session on any node, by id: `emit` and `request` reach it wherever it is. */
  session(id: string): RemoteSession
  /** Server: the sessions of an application user id (see `bindUser`). */
  user(id: string): UserTarget
  /** Server: maps `session` to an application user id (for `user(id)` and presence info). */
  bindUser(session: Session, user: string): void
  /** Server: writes `session.data` to Redis now (it is also written every heartbeat when it changed). */
  save(session: Session): Promise<void>
}

export type { Gap, PresenceChange, PresenceMember, RemoteSession }
