/**
 * The transport-ws plugin as a browser bundler sees it (the package's `browser` export
 * condition): the client over the page's own WebSocket, with the heartbeat and backpressure of
 * browser/connection.ts. Same name, options and capability as the Node plugin, so a config works
 * unchanged; a browser cannot listen, so this one is client-only.
 */
import { definePlugin, EchoError, ErrorCodes, type Session, type Transport } from '@echostream/kernel'
import { schema, type WsTransportOptions } from '../options.js'
import { version } from '../version.js'
import { connectBrowser, type BrowserConnection } from './connection.js'
import type { HeartbeatSettings } from './heartbeat.js'

const PLUGIN_NAME = 'transport-ws'

/** The server's ping cadence from a welcome's `limits`, or undefined when it announced none (or nonsense). */
export function announcedPings(limits: unknown): HeartbeatSettings | undefined {
  const { pingIntervalMs: interval, pingTimeoutMs: timeout } = (limits ?? {}) as Record<string, unknown>
  const valid = (ms: unknown): ms is number => typeof ms === 'number' && ms > 0 && ms <= 2 ** 31 - 1
  return valid(interval) && valid(timeout) ? { pingIntervalMs: interval, pingTimeoutMs: timeout } : undefined
}

export default definePlugin<WsTransportOptions>({
  name: PLUGIN_NAME,
  version,
  kernel: '^1',
  provides: ['transport'],
  roles: ['client'],
  schema,
  setup(kernel, options) {
    const own = Object.freeze({ maxPayload: options.maxPayload, pingIntervalMs: options.pingIntervalMs, pingTimeoutMs: options.pingTimeoutMs })
    let latest: BrowserConnection | undefined
    const transport: Transport & { limits(): typeof own } = {
      name: 'ws',
      limits: () => own,
      listen: () => Promise.reject(new EchoError(ErrorCodes.E_CONFIG, 'A browser cannot listen for connections: run the server in Node.')),
      close: async () => {},
      connect: async (url) => (latest = await connectBrowser(url, options)),
    }
    kernel.provide('transport', transport)
    // Once the welcome is in, keep the heartbeat at the server's cadence (or this side's options).
    const arm = (_session: Session) => latest?.expect(announcedPings(_session.handshake.limits) ?? own)
    kernel.hooks.connect.tap(PLUGIN_NAME, arm)
    kernel.hooks.resumed.tap(PLUGIN_NAME, arm)
  },
})

export { schema, type WsTransportOptions }
export { BrowserConnection, connectBrowser, sendableCode, sendableReason } from './connection.js'
export type { HeartbeatSettings } from './heartbeat.js'
