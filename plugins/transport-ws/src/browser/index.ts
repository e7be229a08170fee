/**
 * The transport-ws plugin as a browser bundler sees it (the package's `browser` export
 * condition): the client over the page's own WebSocket, with the heartbeat and backpressure of
 * browser/connection.ts. Same name, options and capability as the Node plugin, so a config works
 * unchanged; a browser cannot listen, so this one is client-only.
 */
import { definePlugin, EchoError, ErrorCodes, type Transport } from '@echostream/kernel'
import { schema, type WsTransportOptions } from '../options.js'
import { version } from '../version.js'
import { connectBrowser } from './connection.js'

const PLUGIN_NAME = 'transport-ws'

export default definePlugin<WsTransportOptions>({
  name: PLUGIN_NAME,
  version,
  kernel: '^1',
  provides: ['transport'],
  roles: ['client'],
  schema,
  setup(kernel, options) {
    const transport: Transport = {
      name: 'ws',
      // The heartbeat follows the server's announced cadence (the kernel calls expectPings).
      limits: () => ({ maxPayload: options.maxPayload }),
      listen: () => Promise.reject(new EchoError(ErrorCodes.E_CONFIG, 'A browser cannot listen for connections: run the server in Node.')),
      close: async () => {},
      connect: (url) => connectBrowser(url, options),
    }
    kernel.provide('transport', transport)
  },
})

export { schema, type WsTransportOptions }
export { BrowserConnection, connectBrowser, sendableCode, sendableReason } from './connection.js'
export type { HeartbeatSettings } from './heartbeat.js'
