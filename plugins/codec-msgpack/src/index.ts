import { createRequire } from 'node:module'
import { definePlugin } from '@echostream/kernel'
import { createMsgpackCodec, type MsgpackCodecOptions } from './codec.js'
import { withEncodeParts } from './parts.js'
import { schema } from './options.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

export { schema } from './options.js'

/** MessagePack codec (msgpackr), provides the `codec` capability. */
export default definePlugin<MsgpackCodecOptions, Record<never, never>>({
  name: 'codec-msgpack',
  version,
  kernel: '^1',
  provides: ['codec'],
  schema,
  setup(kernel, options) {
    kernel.provide('codec', withEncodeParts(createMsgpackCodec(options)))
  },
})

export { createMsgpackCodec, type MsgpackCodecOptions }
export { withEncodeParts } from './parts.js'
export { DEFAULT_MAX_DEPTH } from './options.js'
export { CodecErrorCodes, codecErrors } from './errors.js'

declare module '@echostream/kernel' {
  /** For configs that name this plugin by string: it adds no API (see the kernel's config-types.ts). */
  interface PluginApis {
    '@echostream/plugin-codec-msgpack': Record<never, never>
  }
}
