/**
 * echostream in a web page: WebSocket transport, MessagePack codec, RPC both ways, events and
 * reconnect with session resume. Through a bundler every plugin resolves to its `browser` build
 * (no Node built-ins); `dist/bundle/echostream.js` is the same, prebuilt, for a
 * `<script type="module">` without a bundler (see README: sizes and decisions).
 *
 *   const client = await createClient({ url: 'wss://example.org/ws' })
 *   await client.start()
 *   await client.rpc.request('math.add', { a: 1, b: 2 })
 */
import type { EchoKernel, PluginDefinition } from '@echostream/kernel'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'
import reconnect from '@echostream/plugin-reconnect'
import { createClientFrom, type BrowserClientConfig } from './client.js'

export type {} from '@echostream/plugin-rpc'
export type {} from '@echostream/plugin-events'
export type {} from '@echostream/plugin-reconnect'

/** The preset's plugins, in order. */
export const plugins: readonly PluginDefinition[] = [transportWs, codecMsgpack, rpc, events, reconnect]

/** A client kernel with this preset's plugins; call `start()` to connect. */
export function createClient(config: BrowserClientConfig): Promise<EchoKernel> {
  return createClientFrom(plugins, config)
}

export { createKernel, definePlugin, EchoError, ErrorCodes, CloseCodes, type EchoKernel as EchoClient } from '@echostream/kernel'
export { transportWs, codecMsgpack, rpc, events, reconnect }
export type { BrowserClientConfig, PluginEntry } from './client.js'

/** As a preset in a config (`preset: '@echostream/preset-browser'`). */
export default { plugins }
