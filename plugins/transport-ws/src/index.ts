import { definePlugin, type Transport, type TransportLimits } from '@echostream/kernel'
import { schema, type WsTransportOptions } from './options.js'
import { WsServer } from './server.js'
import { connectNode } from './client.js'
import { version } from './version.js'

/** WebSocket transport (ws), provides the `transport` capability. Browsers get browser/index.ts (the package's `browser` condition). */
export default definePlugin<WsTransportOptions, Record<never, never>>({
  name: 'transport-ws',
  version,
  kernel: '^1',
  provides: ['transport'],
  schema,
  setup(kernel, options) {
    const server = kernel.role === 'server' ? new WsServer(options, kernel.baseDir) : undefined
    // Announced in the handshake: the peer never sends more than maxPayload; a client follows the
    // server's ping cadence (the kernel hands it to the connection's `expectPings`).
    const limits: TransportLimits = Object.freeze(
      server ? { maxPayload: options.maxPayload, pingIntervalMs: options.pingIntervalMs, pingTimeoutMs: options.pingTimeoutMs } : { maxPayload: options.maxPayload },
    )
    const transport: Transport = {
      name: 'ws',
      listen: (onConnection) => server!.listen(onConnection),
      close: async () => server?.close(),
      connect: (url) => connectNode(url, options, kernel.baseDir),
      limits: () => limits,
    }
    kernel.provide('transport', transport)
    return () => server?.close()
  },
})

export { schema, type WsTransportOptions }
export type { TlsOptions } from './options.js'
export { transportErrors, TransportErrorCodes } from './errors.js'

declare module '@echostream/kernel' {
  /** For configs that name this plugin by string: it adds no API (see the kernel's config-types.ts). */
  interface PluginApis {
    '@echostream/plugin-transport-ws': Record<never, never>
  }
}
