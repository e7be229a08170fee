import { createRequire } from 'node:module'
import { definePlugin } from '@echostream/kernel'
import { schema, type ReconnectOptions } from './options.js'
import { setupServer } from './server.js'
import { setupClient } from './client.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

export type ReconnectEvent = 'reconnecting' | 'reconnected' | 'reconnect_failed' | 'suspended' | 'resumed'

export interface ReconnectApi {
  /** Subscribes to a lifecycle event; returns its unsubscribe. Client: reconnecting, reconnected, reconnect_failed. Server: suspended, resumed. */
  on(event: ReconnectEvent, listener: (data: Record<string, unknown>) => void): () => void
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
          kernel.logger.error(`reconnect '${event}' listener failed: ${(error as Error)?.message}`)
        }
      }
    }
    kernel.expose('reconnect', {
      on(event, listener) {
        if (!listeners.has(event)) listeners.set(event, new Set())
        listeners.get(event)!.add(listener)
        return () => listeners.get(event)?.delete(listener)
      },
    })
    if (kernel.role === 'server') setupServer(kernel, options, emit)
    else setupClient(kernel, options, emit)
  },
})

export { backoffDelay, type BackoffOptions } from './backoff.js'
export { schema, type ReconnectOptions }
