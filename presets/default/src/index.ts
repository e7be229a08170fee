/**
 * The preset most apps start from: WebSocket transport, MessagePack codec, RPC and events, with
 * each plugin's own defaults. Importing this module also brings the plugins' type augmentations
 * (`server.rpc`, `server.events`, `session.request`…) into a TypeScript program.
 */
import type { ApisOf, EchoConfig } from '@echostream/kernel'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'
import events from '@echostream/plugin-events'

export type {} from '@echostream/plugin-rpc'
export type {} from '@echostream/plugin-events'

const preset = {
  plugins: [transportWs, codecMsgpack, rpc, events],
} satisfies EchoConfig

export default preset

declare module '@echostream/kernel' {
  /** `preset: '@echostream/preset-default'` in a config: the APIs of this preset's plugins (see the kernel's config-types.ts). */
  interface PresetApis {
    '@echostream/preset-default': ApisOf<typeof preset>
  }
}
