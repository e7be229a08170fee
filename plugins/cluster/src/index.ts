import { createRequire } from 'node:module'
import { definePlugin } from '@echostream/kernel'
import type {} from '@echostream/plugin-events'
import type {} from '@echostream/plugin-reconnect'
import { schema, type ClusterOptions } from './options.js'
import { setupServer } from './server.js'
import { setupClient } from './client.js'
import type { ClusterApi, ClusterEvent } from './types.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

declare module '@echostream/kernel' {
  interface KernelApi {
    cluster: ClusterApi
  }
}

/**
 * Many servers as one: rooms, broadcasts and presence across nodes, emit/request to a session on
 * any node, and resume on any node with exactly-once replay both ways, on a shared Redis. See README.
 */
export default definePlugin<ClusterOptions>({
  name: 'cluster',
  version,
  kernel: '^1',
  provides: ['cluster'],
  requires: ['transport', 'codec', 'events'],
  optional: ['reconnect', 'rpc'],
  schema,
  setup(kernel, options) {
    const listeners = new Map<string, Set<(data: never) => void>>()
    const emit = (event: ClusterEvent, data: unknown) => {
      for (const listener of listeners.get(event) ?? []) {
        try {
          ;(listener as (data: unknown) => void)(data)
        } catch (error) {
          kernel.logger.error(`cluster '${event}' listener failed: ${(error as Error)?.message}`)
        }
      }
    }
    const api = kernel.role === 'server' ? setupServer(kernel, options, emit) : setupClient(kernel, options, emit)
    const on = (event: string, listener: (data: never) => void) => {
      if (!listeners.has(event)) listeners.set(event, new Set())
      listeners.get(event)!.add(listener)
      return () => void listeners.get(event)?.delete(listener)
    }
    kernel.expose('cluster', Object.defineProperties({ on } as unknown as ClusterApi, Object.getOwnPropertyDescriptors(api)))
  },
})

export { schema, type ClusterOptions }
export { ClusterErrorCodes, type ClusterErrorCode } from './errors.js'
export { createKeys, type ClusterKeys } from './keys.js'
export { scripts } from './scripts.js'
export type { ClusterApi, ClusterEvent, ClusterHealth, UserTarget, Gap, PresenceChange, PresenceMember, RemoteSession } from './types.js'
export type { RequestOptions } from './routing.js'
