/**
 * The browser preset plus streams (credit flow control, jitter playout) and clock sync: what a
 * live-media or telemetry page needs. `dist/bundle/echostream-full.js` is this, prebuilt.
 */
import type { EchoKernel, PluginDefinition } from '@echostream/kernel'
import streams from '@echostream/plugin-streams'
import clockSync from '@echostream/plugin-clock-sync'
import { plugins as core } from './index.js'
import { createClientFrom, type BrowserClientConfig } from './client.js'

export type {} from '@echostream/plugin-streams'
export type {} from '@echostream/plugin-clock-sync'

export const plugins: readonly PluginDefinition[] = [...core, streams, clockSync]

/** A client kernel with streams and clock sync as well; call `start()` to connect. */
export function createClient(config: BrowserClientConfig): Promise<EchoKernel> {
  return createClientFrom(plugins, config)
}

export { createKernel, definePlugin, EchoError, ErrorCodes, CloseCodes, transportWs, codecMsgpack, rpc, events, reconnect, type EchoClient, type BrowserClientConfig, type PluginEntry } from './index.js'
export { streams, clockSync }

export default { plugins }
