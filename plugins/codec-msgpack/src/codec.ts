/**
 * Frames ⇄ MessagePack. A frame travels as an array `[kind, id, name, payload, meta]` with trailing
 * absent fields left off (PROTOCOL.md), in plain MessagePack (no msgpackr records or extensions),
 * so a client in any language can speak it. Binary payloads stay `bin`, never base64.
 */
import { C1, Packr, Unpackr } from 'msgpackr'
import { EchoError, ErrorCodes, type Codec, type DecodeResult, type Frame } from '@echostream/kernel'
import { toFrame } from './frame-shape.js'

export interface MsgpackCodecOptions {
  /** Decode 64-bit integers beyond 2^53 as BigInt instead of (lossy) numbers. */
  bigint?: boolean
}

/**
 * msgpackr decodes 0xc1 (a byte MessagePack never uses) to a sentinel object instead of failing, so
 * garbage would pass as data. One walk over containers; binary payloads are not entered.
 */
function containsC1(value: unknown): boolean {
  if (value === C1) return true
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return false
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (containsC1(value[i])) return true
    return false
  }
  for (const key in value) if (containsC1((value as Record<string, unknown>)[key])) return true
  return false
}

/** `value`, unless it holds the C1 sentinel (looked for only when the message may hold a 0xc1 byte). */
function checked(value: unknown, mayHoldC1: boolean): unknown {
  if (mayHoldC1 && containsC1(value)) throw new Error('byte 0xc1 is never used in MessagePack')
  return value
}

/** Messages up to this size are decoded from a scratch copy (see `unpack` in createMsgpackCodec). */
const SCRATCH_SIZE = 1024
/** Messages up to this size are copied to the scratch buffer byte by byte, looking for 0xc1 on the way. */
const SCAN_BYTES = 64

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

/** A binary at least this large that ends a payload is written into the message by the codec itself. */
const LARGE_BINARY = 4096
const EMPTY_BINARY = new Uint8Array(0)

/**
 * The binary a payload ends with — the payload itself, or the last element of its (last nested)
 * array, as a stream chunk ends `[seq, wallTime, data]` — when it is large enough to be written
 * apart; undefined otherwise.
 */
function largeTail(value: unknown): Uint8Array | undefined {
  for (;;) {
    if (ArrayBuffer.isView(value)) {
      if (value.byteLength < LARGE_BINARY) return undefined
      return value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    }
    if (!Array.isArray(value) || value.length === 0) return undefined
    value = value[value.length - 1]
  }
}

/** `value` with the binary it ends with replaced by an empty one (the arrays on the way are copied, the caller's are not changed). */
function withEmptyTail(value: unknown): unknown {
  if (!Array.isArray(value)) return EMPTY_BINARY
  const copy = value.slice()
  copy[copy.length - 1] = withEmptyTail(copy[copy.length - 1])
  return copy
}

export function createMsgpackCodec(options: MsgpackCodecOptions = {}): Codec {
  const packrOptions = {
    useRecords: false,
    moreTypes: false,
    encodeUndefinedAsNil: true,
    mapsAsObjects: true,
    int64AsType: options.bigint ? ('bigint' as const) : ('number' as const),
  }
  // One Packr for the codec's lifetime: msgpackr reuses its buffers across calls.
  const packr = new Packr(packrOptions)

  /*
   * msgpackr builds a DataView over each source it reads (and caches it on the source), which costs
   * about as much as decoding a small frame, and every message from the socket is a new Buffer. So
   * a small message is copied into one scratch buffer, whose DataView is made once, and decoded from
   * there; the binary values in it are copied out (copyBuffers: they are small). A larger message
   * (a stream chunk) is decoded where it is, its binary values staying zero-copy views.
   * Past the message, the scratch holds zeros (`dirty` tracks what earlier, longer messages left
   * there): a truncated message over-reads into zeros and then fails as running past its end, never
   * into an earlier message of another session.
   */
  const scratch = typeof Buffer === 'function' ? Buffer.alloc(SCRATCH_SIZE) : new Uint8Array(SCRATCH_SIZE)
  const smallUnpackr = new Unpackr({ ...packrOptions, copyBuffers: true })
  let dirty = 0

  /**
   * msgpackr can only produce the C1 sentinel from a 0xc1 byte, so a short message is scanned while
   * it is copied (the common case: calls and events are a few dozen bytes) and walked only if the
   * byte is there; a longer one is walked (the walk does not enter binary values).
   */
  function unpack(bytes: Uint8Array): unknown {
    const length = bytes.byteLength
    if (length === 0 || length > SCRATCH_SIZE) return checked(packr.unpack(bytes), true)
    let c1 = true
    if (length <= SCAN_BYTES) {
      c1 = false
      for (let i = 0; i < length; i++) {
        const byte = bytes[i]!
        scratch[i] = byte
        if (byte === 0xc1) c1 = true
      }
    } else scratch.set(bytes, 0)
    if (dirty > length) {
      if (dirty - length > SCAN_BYTES) scratch.fill(0, length, dirty)
      else for (let i = length; i < dirty; i++) scratch[i] = 0
    }
    dirty = length
    return checked(smallUnpackr.unpack(scratch, length), c1)
  }

  /*
   * A frame ending with a large binary (a stream chunk) is packed with an empty binary in its place,
   * and the message is then assembled in one buffer of its exact size: the packed head without the
   * empty bin, the real bin header, the binary. msgpackr would copy the binary into its own output
   * buffer, grown to four times the binary's size and replaced every few chunks; those buffers are
   * long-lived enough to reach the old generation, and their turnover cost a full GC every ~30 ms
   * at 600 MB/s. Here the binary is copied once, into a buffer that dies young.
   */
  function packWithTail(parts: unknown[], tail: Uint8Array): Uint8Array {
    const head = packr.pack(parts)
    const headLength = head.byteLength - 2
    if (head[headLength] !== 0xc4 || head[headLength + 1] !== 0) return packr.pack(parts) // not expected: msgpackr wrote the empty bin otherwise
    const length = tail.byteLength
    const binHeader = length < 0x100 ? 2 : length < 0x10000 ? 3 : 5
    const out = typeof Buffer === 'function' ? Buffer.allocUnsafe(headLength + binHeader + length) : new Uint8Array(headLength + binHeader + length)
    for (let i = 0; i < headLength; i++) out[i] = head[i]!
    let at = headLength
    if (binHeader === 2) {
      out[at++] = 0xc4
      out[at++] = length
    } else if (binHeader === 3) {
      out[at++] = 0xc5
      out[at++] = length >>> 8
      out[at++] = length & 0xff
    } else {
      out[at++] = 0xc6
      out[at++] = length >>> 24
      out[at++] = (length >>> 16) & 0xff
      out[at++] = (length >>> 8) & 0xff
      out[at++] = length & 0xff
    }
    out.set(tail, at)
    return out
  }

  return {
    name: 'msgpack',
    encode(frame: Frame): Uint8Array {
      // A fresh array literal per frame is cheaper than refilling a shared one (V8 allocates it inline).
      const { kind, id, name, payload, meta } = frame
      if (meta !== undefined) return packr.pack([kind, id ?? null, name ?? null, binaryAsBytes(payload) ?? null, binaryAsBytes(meta)])
      if (payload !== undefined) {
        const tail = largeTail(payload)
        if (tail !== undefined) return packWithTail([kind, id ?? null, name ?? null, binaryAsBytes(withEmptyTail(payload))], tail)
        return packr.pack([kind, id ?? null, name ?? null, binaryAsBytes(payload)])
      }
      // Trailing absent fields are left off.
      if (name !== undefined && name !== null) return packr.pack([kind, id ?? null, name])
      if (id !== undefined && id !== null) return packr.pack([kind, id])
      return packr.pack([kind])
    },
    decode(bytes: Uint8Array): DecodeResult {
      let value: unknown
      try {
        value = unpack(bytes)
      } catch (error) {
        return { ok: false, error: new EchoError(ErrorCodes.E_CODEC, `Cannot decode message as MessagePack (${(error as Error)?.message ?? error}); is the peer using the msgpack codec?`, { cause: error }) }
      }
      return toFrame(value)
    },
  }
}
