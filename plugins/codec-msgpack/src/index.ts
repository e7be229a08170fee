import { createRequire } from 'node:module'
import { definePlugin } from '@echostream/kernel'
import { createMsgpackCodec, type MsgpackCodecOptions } from './codec.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    bigint: { type: 'boolean', default: false, description: 'Decode 64-bit integers beyond 2^53 as BigInt.' },
  },
} as const

/** MessagePack codec (msgpackr), provides the `codec` capability. */
export default definePlugin<MsgpackCodecOptions>({
  name: 'codec-msgpack',
  version,
  kernel: '^1',
  provides: ['codec'],
  schema,
  setup(kernel, options) {
    kernel.provide('codec', createMsgpackCodec(options))
  },
})

export { createMsgpackCodec, type MsgpackCodecOptions }
