/**
 * Frames ⇄ MessagePack. A frame travels as an array `[kind, id, name, payload, meta]` with trailing
 * absent fields left off (PROTOCOL.md), in plain MessagePack (no msgpackr records or extensions),
 * so a client in any language can speak it. Binary payloads stay `bin`, never base64.
 */
import { Packr, RESERVE_START_SPACE, Unpackr } from 'msgpackr'
import { EchoError, type Codec, type DecodeResult, type Frame } from '@echostream/kernel'
import { codecErrors, frameLabel, kindOf, reasonOf } from './errors.js'
import { toFrame } from './frame-shape.js'
import { DEFAULT_MAX_DEPTH, maxDepthOf, type MsgpackCodecOptions } from './options.js'
import { createPreparer } from './prepare.js'
import { createScanner } from './scan.js'
import { EnvelopeReader, MAX_ENVELOPE, writeEnvelope } from './envelope.js'
import { binHeaderLength, largeTail, withEmptyTail, writeBinHeader } from './tail.js'

export { DEFAULT_MAX_DEPTH, type MsgpackCodecOptions }

/** What `unpack` returns for bytes the scanner refused (msgpackr can never produce this object). */
const REFUSED = Symbol('refused')

/** Messages up to this size are decoded from a scratch copy (see `unpack` in createMsgpackCodec). */
const SCRATCH_SIZE = 1024
/** Messages up to this size are copied to the scratch buffer byte by byte (cheaper than `set` for a few dozen bytes). */
const COPY_BYTES = 64
/** Zeros kept after the scratch area: more than a short message's over-read can reach (see `unpack`). */
const SCRATCH_SLACK = 16 * 1024

/**
 * Header bytes that declare a variable length (bin/str 8/16/32, array/map 16/32), an extension,
 * or 0xc1. A short message with none of these bytes anywhere (see `unpack`) skips the scan —
 * except array16/map16 whose count fits in the bytes after it: msgpackr writes every map as map16.
 */
const RISKY = new Uint8Array(256)
for (const byte of [0xc1, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf]) RISKY[byte] = 1

export function createMsgpackCodec(options: Partial<MsgpackCodecOptions> = {}): Codec {
  const maxDepth = maxDepthOf(options)
  const packrOptions = {
    useRecords: false,
    moreTypes: false,
    encodeUndefinedAsNil: true,
    mapsAsObjects: true,
    int64AsType: options.bigint ? ('bigint' as const) : ('number' as const),
  }
  // One Packr for the codec's lifetime: msgpackr reuses its buffers across calls.
  const packr = new Packr(packrOptions)
  const scanner = createScanner(maxDepth)
  const preparer = createPreparer(maxDepth)

  /*
   * msgpackr builds a DataView over each source it reads (and caches it on the source), which costs
   * about as much as decoding a small frame, and every message from the socket is a new Buffer. So
   * a small message is copied into one scratch buffer, whose DataView is made once, and decoded from
   * there; the binary values in it are copied out (copyBuffers: they are small). A larger message
   * (a stream chunk) is decoded where it is, its binary values staying zero-copy views.
   *
   * Every message is scanned (scan.ts) before msgpackr reads it — except one of at most COPY_BYTES
   * (and at most maxDepth) bytes that passes a cheaper check while it is copied: no RISKY byte
   * anywhere, but for 0xdc/0xde followed by a count that fits in the bytes after them. Such a
   * message holds no extension and no 0xc1, no more levels than bytes (so no deeper than
   * maxDepth), and no header declaring more than 64 elements (a fix header at most 15 elements,
   * 15 entries or 31 bytes; a 16-bit one, if it is a header at all, at most what follows it).
   * msgpackr then allocates at most a few small arrays, and a truncated one over-reads at most
   * 64 headers × 128 values — zeros, as the scratch is zeroed past the message (`dirty` tracks
   * what earlier, longer messages left there) and has SCRATCH_SLACK zeros after it — before it
   * fails as running past the end. The copy visits every byte anyway, so the check costs about one
   * compare per byte, where scanning a call frame costs ~40 ns, 15–25 % of decoding it (calls and
   * events are a few dozen bytes: the hot path).
   */
  const scratch = typeof Buffer === 'function' ? Buffer.alloc(SCRATCH_SIZE + SCRATCH_SLACK) : new Uint8Array(SCRATCH_SIZE + SCRATCH_SLACK)
  const smallUnpackr = new Unpackr({ ...packrOptions, copyBuffers: true })
  const fastLength = Math.min(COPY_BYTES, maxDepth)
  let dirty = 0

  /**
   * Copies `bytes[start, end)` (at most `fastLength` bytes) to the start of the scratch buffer,
   * zeroing what an earlier, longer message left after it; true if a RISKY byte was seen.
   */
  function copyToScratch(bytes: Uint8Array, start: number, end: number): boolean {
    let risky = false
    for (let i = start; i < end; i++) {
      const byte = bytes[i]!
      scratch[i - start] = byte
      // Every RISKY byte is in 0xc1–0xdf: one compare for most bytes.
      if (byte >= 0xc1 && byte <= 0xdf && RISKY[byte] === 1 && !((byte === 0xde || byte === 0xdc) && ((bytes[i + 1]! << 8) | bytes[i + 2]!) * (byte === 0xde ? 2 : 1) <= end - i - 3)) risky = true
    }
    clearScratchAfter(end - start)
    return risky
  }

  function clearScratchAfter(length: number): void {
    if (dirty > length) {
      if (dirty - length > COPY_BYTES) scratch.fill(0, length, dirty)
      else for (let i = length; i < dirty; i++) scratch[i] = 0
    }
    dirty = length
  }

  const envelope = new EnvelopeReader()

  /**
   * The frame of a small message whose envelope the reader takes (envelope.ts), or undefined: use
   * `unpack`. The envelope is read where it is; only the payload is copied (and checked) for
   * msgpackr. Throws only if msgpackr does.
   */
  function readSmallFrame(bytes: Uint8Array, length: number): Frame | undefined {
    const frame = envelope.read(bytes, length)
    if (frame === undefined) return undefined
    const start = envelope.payloadStart
    if (start === length) return frame
    if (copyToScratch(bytes, start, length)) return undefined // a RISKY byte: the full path scans it
    frame.payload = smallUnpackr.unpack(scratch, length - start)
    return frame
  }

  /** `bytes` decoded, or REFUSED with the scanner's fault set. Throws only if msgpackr does. */
  function unpack(bytes: Uint8Array, length: number): unknown {
    if (length > SCRATCH_SIZE) return scanner.scan(bytes, length) ? packr.unpack(bytes) : REFUSED
    let risky = true
    if (length <= fastLength) risky = copyToScratch(bytes, 0, length)
    else {
      scratch.set(bytes, 0)
      clearScratchAfter(length)
    }
    if (length === 0 || (risky && !scanner.scan(scratch, length))) return REFUSED
    return smallUnpackr.unpack(scratch, length)
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
    const binHeader = binHeaderLength(length)
    const out = typeof Buffer === 'function' ? Buffer.allocUnsafe(headLength + binHeader + length) : new Uint8Array(headLength + binHeader + length)
    for (let i = 0; i < headLength; i++) out[i] = head[i]!
    const at = writeBinHeader(out, headLength, length)
    out.set(tail, at)
    return out
  }

  /** Where `pack` writes a frame's envelope before copying it in front of the payload. */
  const head = new Uint8Array(MAX_ENVELOPE)

  function pack(frame: Frame): Uint8Array {
    // A fresh array literal per frame is cheaper than refilling a shared one (V8 allocates it inline).
    const { kind, id, name, payload: rawPayload, meta: rawMeta } = frame
    const payload = rawPayload === undefined ? undefined : preparer.field(rawPayload, 'payload', true, kind)
    if (rawMeta !== undefined) return packr.pack([kind, id ?? null, name ?? null, payload ?? null, preparer.field(rawMeta, 'meta', payload === undefined, kind)])
    if (payload !== undefined) {
      const tail = largeTail(payload)
      if (tail !== undefined) return packWithTail([kind, id ?? null, name ?? null, withEmptyTail(payload)], tail)
      // The common frame: its envelope written here, into space msgpackr reserves before the payload.
      const headLength = writeEnvelope(head, 0, kind, id, name)
      if (headLength < 0) return packr.pack([kind, id ?? null, name ?? null, payload])
      const out = packr.pack(payload, RESERVE_START_SPACE | headLength)
      for (let i = 0; i < headLength; i++) out[i] = head[i]!
      return out
    }
    // Trailing absent fields are left off.
    if (name !== undefined && name !== null) return packr.pack([kind, id ?? null, name])
    if (id !== undefined && id !== null) return packr.pack([kind, id])
    return packr.pack([kind])
  }

  return {
    name: 'msgpack',
    /** Throws an E_CODEC EchoError (and nothing else) for a value the protocol does not carry. */
    encode(frame: Frame): Uint8Array {
      try {
        return pack(frame)
      } catch (error) {
        if (EchoError.is(error)) throw error
        throw codecErrors.encodeFailed(reasonOf(error), frameLabel(kindOf(frame)))
      }
    },
    decode(bytes: Uint8Array): DecodeResult {
      const length = bytes.byteLength
      let value: unknown
      try {
        const frame = length <= fastLength ? readSmallFrame(bytes, length) : undefined
        if (frame !== undefined) return { ok: true, frame }
        value = unpack(bytes, length)
      } catch (error) {
        // A short message that skipped the scan: the scan says precisely what is wrong with it.
        if (!scanner.scan(bytes, bytes.byteLength)) return { ok: false, error: codecErrors.malformed(scanner) }
        return { ok: false, error: codecErrors.decodeFailed(reasonOf(error)) }
      }
      if (value === REFUSED) {
        if (bytes.byteLength === 0) scanner.scan(bytes, 0)
        return { ok: false, error: codecErrors.malformed(scanner) }
      }
      return toFrame(value)
    },
  }
}
