/**
 * The codec-msgpack plugin as a browser bundler sees it (the package's `browser` export
 * condition): the same name, options and bytes on the wire as the Node plugin, without msgpackr
 * (see encode.ts for the measurement behind that).
 */
import { definePlugin, EchoError, ErrorCodes, type Codec, type DecodeResult, type Frame } from '@echostream/kernel'
import { toFrame } from '../frame-shape.js'
import { schema } from '../options.js'
import { version } from '../version.js'
import { Decoder } from './decode.js'
import { Encoder } from './encode.js'

export interface MsgpackCodecOptions {
  /** Decode 64-bit integers as BigInt instead of (lossy beyond 2^53) numbers. */
  bigint?: boolean
}

export function createMsgpackCodec(options: MsgpackCodecOptions = {}): Codec {
  const encoder = new Encoder()
  const decoder = new Decoder(options.bigint === true)
  return {
    name: 'msgpack',
    encode({ kind, id, name, payload, meta }: Frame): Uint8Array {
      // Trailing absent fields are left off, as the Node codec does.
      if (meta !== undefined) return encoder.encode([kind, id ?? null, name ?? null, payload ?? null, meta])
      if (payload !== undefined) return encoder.encode([kind, id ?? null, name ?? null, payload])
      if (name !== undefined && name !== null) return encoder.encode([kind, id ?? null, name])
      if (id !== undefined && id !== null) return encoder.encode([kind, id])
      return encoder.encode([kind])
    },
    decode(bytes: Uint8Array): DecodeResult {
      let value: unknown
      try {
        value = decoder.decode(bytes)
      } catch (error) {
        return { ok: false, error: new EchoError(ErrorCodes.E_CODEC, `Cannot decode message as MessagePack (${(error as Error)?.message ?? error}); is the peer using the msgpack codec?`, { cause: error }) }
      }
      return toFrame(value)
    },
  }
}

/** MessagePack codec, provides the `codec` capability. */
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

export { schema }
