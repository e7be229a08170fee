/**
 * The codec-msgpack plugin as a browser bundler sees it (the package's `browser` export
 * condition): the same name, options and bytes on the wire as the Node plugin, without msgpackr
 * (see encode.ts for the measurement behind that). The same scan (scan.ts) refuses what is not
 * plain, bounded MessagePack before anything is decoded, and the same walk (prepare.ts) decides
 * what a payload may hold before anything is encoded, with the same errors.
 */
import { definePlugin, EchoError, type Codec, type DecodeResult, type Frame } from '@echostream/kernel'
import { codecErrors, frameLabel, kindOf, reasonOf } from '../errors.js'
import { toFrame } from '../frame-shape.js'
import { maxDepthOf, schema, type MsgpackCodecOptions } from '../options.js'
import { createPreparer } from '../prepare.js'
import { createScanner } from '../scan.js'
import { version } from '../version.js'
import { Decoder } from './decode.js'
import { Encoder } from './encode.js'

export type { MsgpackCodecOptions }

export function createMsgpackCodec(options: Partial<MsgpackCodecOptions> = {}): Codec {
  const maxDepth = maxDepthOf(options)
  const encoder = new Encoder()
  const decoder = new Decoder(options.bigint === true)
  const scanner = createScanner(maxDepth)
  const preparer = createPreparer(maxDepth)
  function pack(frame: Frame): Uint8Array {
    const { kind, id, name } = frame
    const payload = frame.payload === undefined ? undefined : preparer.field(frame.payload, 'payload', true, kind)
    // Trailing absent fields are left off, as the Node codec does.
    if (frame.meta !== undefined) return encoder.encode([kind, id ?? null, name ?? null, payload ?? null, preparer.field(frame.meta, 'meta', payload === undefined, kind)])
    if (payload !== undefined) return encoder.encode([kind, id ?? null, name ?? null, payload])
    if (name !== undefined && name !== null) return encoder.encode([kind, id ?? null, name])
    if (id !== undefined && id !== null) return encoder.encode([kind, id])
    return encoder.encode([kind])
  }
  return {
    name: 'msgpack',
    encode(frame: Frame): Uint8Array {
      try {
        return pack(frame)
      } catch (error) {
        if (EchoError.is(error)) throw error
        throw codecErrors.encodeFailed(reasonOf(error), frameLabel(kindOf(frame)))
      }
    },
    decode(bytes: Uint8Array): DecodeResult {
      if (!scanner.scan(bytes, bytes.byteLength)) return { ok: false, error: codecErrors.malformed(scanner) }
      let value: unknown
      try {
        value = decoder.decode(bytes)
      } catch (error) {
        return { ok: false, error: codecErrors.decodeFailed(reasonOf(error)) }
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
