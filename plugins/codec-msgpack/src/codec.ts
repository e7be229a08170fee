/**
 * Frames ⇄ MessagePack. A frame travels as an array `[kind, id, name, payload, meta]` with trailing
 * absent fields left off (PROTOCOL.md), in plain MessagePack (no msgpackr records or extensions),
 * so a client in any language can speak it. Binary payloads stay `bin`, never base64.
 */
import { C1, Packr } from 'msgpackr'
import { EchoError, ErrorCodes, type Codec, type DecodeResult, type Frame } from '@echostream/kernel'

export interface MsgpackCodecOptions {
  /** Decode 64-bit integers beyond 2^53 as BigInt instead of (lossy) numbers. */
  bigint?: boolean
}

function notAFrame(why: string): DecodeResult {
  return { ok: false, error: new EchoError(ErrorCodes.E_PROTOCOL, `Not an echostream frame: ${why}. A frame is a MessagePack array [kind, id, name, payload, meta] (PROTOCOL.md).`) }
}

/**
 * msgpackr decodes 0xc1 (a byte MessagePack never uses) to a sentinel object instead of failing, so
 * garbage would pass as data. One walk over containers; binary payloads are not entered.
 */
function containsC1(value: unknown): boolean {
  if (value === C1) return true
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return false
  if (Array.isArray(value)) {
    for (const item of value) if (containsC1(item)) return true
    return false
  }
  for (const key in value) if (containsC1((value as Record<string, unknown>)[key])) return true
  return false
}

/**
 * msgpackr (without `moreTypes`) writes a typed array other than Uint8Array as a bin of its
 * byteLength filled element by element: values are truncated to bytes and the rest of the bin is
 * whatever its shared output buffer held before. A DataView comes out empty. So every binary view
 * is re-viewed as a Uint8Array over the same bytes; a container is copied only when something in it changed.
 */
function binaryAsBytes(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (ArrayBuffer.isView(value)) return value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      const bytes = binaryAsBytes(item)
      if (bytes !== item) (copy ??= value.slice())[i] = bytes
    }
    return copy ?? value
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return value
  let copy: Record<string, unknown> | undefined
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key]
    const bytes = binaryAsBytes(item)
    if (bytes !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = bytes
  }
  return copy ?? value
}

/** Checks a decoded value's shape; untrusted input, so every field is checked. */
function toFrame(value: unknown): DecodeResult {
  if (!Array.isArray(value)) return notAFrame(`got ${value === null ? 'nil' : typeof value}, not an array`)
  const [kind, id, name, payload, meta] = value as unknown[]
  if (value.length === 0 || value.length > 5) return notAFrame(`array of ${value.length} elements`)
  if (typeof kind !== 'string' || kind.length === 0) return notAFrame('element 0 (kind) must be a non-empty string')
  const frame: Frame = { kind }
  if (id !== undefined && id !== null) {
    if (!Number.isSafeInteger(id) || (id as number) < 0) return notAFrame('element 1 (id) must be a non-negative integer or nil')
    frame.id = id as number
  }
  if (name !== undefined && name !== null) {
    if (typeof name !== 'string') return notAFrame('element 2 (name) must be a string or nil')
    frame.name = name
  }
  if (value.length >= 4) frame.payload = payload
  if (meta !== undefined && meta !== null) {
    if (typeof meta !== 'object' || Array.isArray(meta) || ArrayBuffer.isView(meta)) return notAFrame('element 4 (meta) must be a map or nil')
    frame.meta = meta as Record<string, unknown>
  }
  return { ok: true, frame }
}

export function createMsgpackCodec(options: MsgpackCodecOptions = {}): Codec {
  // One Packr for the codec's lifetime: msgpackr reuses its buffers across calls.
  const packr = new Packr({
    useRecords: false,
    moreTypes: false,
    encodeUndefinedAsNil: true,
    mapsAsObjects: true,
    int64AsType: options.bigint ? 'bigint' : 'number',
  })
  // Reused for every frame: the encoder copies out before returning, so sharing is safe.
  const parts: unknown[] = []
  return {
    name: 'msgpack',
    encode(frame: Frame): Uint8Array {
      parts.length = 0
      parts.push(frame.kind, frame.id ?? null, frame.name ?? null)
      if (frame.meta !== undefined) parts.push(binaryAsBytes(frame.payload) ?? null, binaryAsBytes(frame.meta))
      else if (frame.payload !== undefined) parts.push(binaryAsBytes(frame.payload))
      else while (parts.length > 1 && parts[parts.length - 1] === null) parts.pop()
      return packr.pack(parts)
    },
    decode(bytes: Uint8Array): DecodeResult {
      let value: unknown
      try {
        value = packr.unpack(bytes)
        if (containsC1(value)) throw new Error('byte 0xc1 is never used in MessagePack')
      } catch (error) {
        return { ok: false, error: new EchoError(ErrorCodes.E_CODEC, `Cannot decode message as MessagePack (${(error as Error)?.message ?? error}); is the peer using the msgpack codec?`, { cause: error }) }
      }
      return toFrame(value)
    },
  }
}
