import { defineTransportPlugin } from '@echostream/kernel'
import { schema, type WsTransportOptions } from './options.js'
import { WsServer } from './server.js'
import { connectNode } from './client.js'
import { version } from './version.js'

/** WebSocket transport (ws), provides the `transport` capability. Browsers get browser/index.ts (the package's `browser` condition). */
export default defineTransportPlugin<WsTransportOptions>({
  name: 'transport-ws',
  transport: 'ws',
  version,
  schema,
  createServer: (options, baseDir) => new WsServer(options, baseDir),
  connect: connectNode,
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
