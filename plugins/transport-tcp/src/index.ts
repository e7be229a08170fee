import { createRequire } from 'node:module'
import { definePlugin, type Transport, type TransportLimits } from '@echostream/kernel'
import { schema, type TcpTransportOptions } from './options.js'
import { TcpServer } from './server.js'
import { connectTcp } from './client.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

/** Plain TCP transport with length-prefixed frames (TLS as tcps://); provides the `transport` capability. */
export default definePlugin<TcpTransportOptions, Record<never, never>>({
  name: 'transport-tcp',
  version,
  kernel: '^1',
  provides: ['transport'],
  schema,
  setup(kernel, options) {
    const server = kernel.role === 'server' ? new TcpServer(options, kernel.baseDir) : undefined
    // Announced in the handshake: the peer never sends more than maxPayload; a client follows the
    // server's ping cadence (the kernel hands it to the connection's `expectPings`).
    const limits: TransportLimits = Object.freeze(
      server ? { maxPayload: options.maxPayload, pingIntervalMs: options.pingIntervalMs, pingTimeoutMs: options.pingTimeoutMs } : { maxPayload: options.maxPayload },
    )
    const transport: Transport = {
      name: 'tcp',
      listen: (onConnection) => server!.listen(onConnection),
      close: async () => server?.close(),
      connect: (url) => connectTcp(url, options, kernel.baseDir),
      limits: () => limits,
    }
    kernel.provide('transport', transport)
    return () => server?.close()
  },
})

export { schema, type TcpTransportOptions }
export type { TlsOptions } from './options.js'
export { parseTcpUrl, type TcpUrl } from './client.js'
export { FRAMING_VERSION } from './constants.js'

declare module '@echostream/kernel' {
  /** For configs that name this plugin by string: it adds no API (see the kernel's config-types.ts). */
  interface PluginApis {
    '@echostream/plugin-transport-tcp': Record<never, never>
  }
}
