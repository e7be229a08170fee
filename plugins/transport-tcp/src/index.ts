import { createRequire } from 'node:module'
import { defineTransportPlugin } from '@echostream/kernel'
import { schema, type TcpTransportOptions } from './options.js'
import { TcpServer } from './server.js'
import { connectTcp } from './client.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

/** Plain TCP transport with length-prefixed frames (TLS as tcps://); provides the `transport` capability. */
export default defineTransportPlugin<TcpTransportOptions>({
  name: 'transport-tcp',
  transport: 'tcp',
  version,
  schema,
  createServer: (options, baseDir) => new TcpServer(options, baseDir),
  connect: connectTcp,
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
