/**
 * The smallest useful stack: WebSocket transport, MessagePack codec and RPC. Importing this module
 * also brings the rpc plugin's type augmentations into a TypeScript program.
 */
import type { ApisOf, EchoConfig } from '@echostream/kernel'
import transportWs from '@echostream/plugin-transport-ws'
import codecMsgpack from '@echostream/plugin-codec-msgpack'
import rpc from '@echostream/plugin-rpc'

export type {} from '@echostream/plugin-rpc'

const preset = {
  plugins: [transportWs, codecMsgpack, rpc],
} satisfies EchoConfig

export default preset

declare module '@echostream/kernel' {
  /** `preset: '@echostream/preset-minimal'` in a config: the APIs of this preset's plugins (see the kernel's config-types.ts). */
  interface PresetApis {
    '@echostream/preset-minimal': ApisOf<typeof preset>
  }
}
