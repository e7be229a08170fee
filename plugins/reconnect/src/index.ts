import { definePlugin, messageOf, SERVER_BUILD, type Session } from '@echostream/kernel'
import { schema, type ReconnectOptions } from './options.js'
import { setupServer, type AdoptedState } from './server.js'
import { setupClient } from './client.js'
import type { Tracked } from './counting.js'
import { version } from './version.js'
import { reconnectErrors } from './errors.js'

export type ReconnectEvent = 'reconnecting' | 'reconnected' | 'reconnect_failed' | 'suspended' | 'resumed'

/** What reconnect holds for one session's replay (sent, not yet acknowledged; or queued offline). */
export interface ReplayBuffer {
  /** Frames held. */
  frames: number
  /** Their encoded bytes (exactly what was or will be written). */
  bytes: number
  /** Frames evicted unacknowledged because the buffer was full (a resume then needs the peer to have received them). */
  evicted: number
  /** Frames counted as sent / received on this session. */
  sent: number
  received: number
}

export interface ReconnectApi {
  /** Subscribes to a lifecycle event; returns its unsubscribe. Client: reconnecting, reconnected, reconnect_failed. Server: suspended, resumed. */
  on(event: ReconnectEvent, listener: (data: Record<string, unknown>) => void): () => void
  /** The replay buffer of `session` (server; a client's own session when left out); undefined for a session it does not track. */
  buffered(session?: Session): ReplayBuffer | undefined
  /**
   * Server, for a cluster plugin: the session being connected continues one another node held —
   * its `welcome` says `recovered: true` with these counts, and `state.replay` is recorded as sent
   * (the caller writes it after `welcome` with `kernel.writeEncoded`). Call it from a `connect`
   * tap staged before this plugin's (`Stage.EARLY`).
   */
  adopt(session: Session, state: AdoptedState): void
}

declare module '@echostream/kernel' {
  interface KernelApi {
    reconnect: ReconnectApi
  }
}

/** Reconnect with backoff, session resume and exactly-once replay; see README. */
export default definePlugin<ReconnectOptions>({
  name: 'reconnect',
  version,
  kernel: '^1',
  provides: ['reconnect'],
  requires: ['transport', 'codec'],
  wire: 1,
  schema,
  setup(kernel, options) {
    const listeners = new Map<string, Set<(data: Record<string, unknown>) => void>>()
    const emit = (event: string, data: unknown) => {
      for (const listener of listeners.get(event) ?? []) {
        try {
          listener(data as Record<string, unknown>)
        } catch (error) {
          kernel.logger.error(`reconnect '${event}' listener failed: ${messageOf(error)}`)
        }
      }
    }
    const server = SERVER_BUILD && kernel.role === 'server' ? setupServer(kernel, options, emit) : undefined
    const tracked: (session: Session) => Tracked | undefined = server ? server.tracked : setupClient(kernel, options, emit)
    kernel.expose('reconnect', {
      on(event, listener) {
        if (!listeners.has(event)) listeners.set(event, new Set())
        listeners.get(event)!.add(listener)
        return () => listeners.get(event)?.delete(listener)
      },
      buffered(session) {
        const target = session ?? kernel.session
        const outbox = target && tracked(target)?.outbox
        return outbox && { frames: outbox.size, bytes: outbox.bytes, evicted: outbox.evicted, sent: outbox.sent, received: outbox.received }
      },
      adopt(session, state) {
        if (!server) throw reconnectErrors.serverOnly('adopt')
        server.adopt(session, state)
      },
    })
  },
})

export { backoffDelay, type BackoffOptions } from './backoff.js'
export { isResumable } from './close-codes.js'
export { reconnectErrors, ReconnectErrorCodes } from './errors.js'
export { schema, type ReconnectOptions }
export type { AdoptedState }
