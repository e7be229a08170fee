/**
 * `encodeParts` (the kernel's optional Codec method): a frame whose payload ends with a large
 * binary — a stream chunk `[seq, wallTime, data]` — as two parts, the envelope with the binary's
 * bin header and the binary itself, uncopied, whose concatenation is byte for byte
 * `encode(frame)`. A transport that copies every message anyway (ws masking a client's frame)
 * joins them in that copy: one copy of the chunk instead of two.
 *
 * The envelope is the codec's own `encode` of the frame with an empty binary in the tail's place
 * (so the same preparation, checks and errors apply), less that empty bin's two bytes (c4 00),
 * plus the real bin header: exactly what `encode` writes for the whole frame, which writes a
 * large tail the same way (codec.ts, packWithTail). Frames it does not handle (no Uint8Array of
 * LARGE_BINARY bytes or more ending the payload within TAIL_LEVELS arrays, or a meta) give
 * undefined, and the kernel encodes them whole.
 */
import type { Codec, Frame } from '@echostream/kernel'
import { largeTail, withEmptyTail, writeBinHeader } from './tail.js'

const EMPTY = new Uint8Array(0)

/** `codec` with `encodeParts`. The parts (and the array holding them) are reused: valid until the next call. */
export function withEncodeParts<C extends Codec>(codec: C): C & Required<Pick<Codec, 'encodeParts'>> {
  let scratch = typeof Buffer === 'function' ? Buffer.allocUnsafe(256) : new Uint8Array(256)
  const parts: Uint8Array[] = [EMPTY, EMPTY]
  function encodeParts(frame: Frame): readonly Uint8Array[] | undefined {
    const { payload, meta } = frame
    if (payload === undefined || meta !== undefined) return undefined
    const tail = largeTail(payload)
    if (tail === undefined) return undefined
    // Throws what encode throws (E_CODEC) for anything else in the frame.
    const head = codec.encode({ ...frame, payload: withEmptyTail(payload) })
    const headLength = head.byteLength - 2
    if (head[headLength] !== 0xc4 || head[headLength + 1] !== 0) return undefined // not the expected empty bin: encode it whole
    if (scratch.byteLength < headLength + 5) scratch = typeof Buffer === 'function' ? Buffer.allocUnsafe(2 * (headLength + 5)) : new Uint8Array(2 * (headLength + 5))
    const out = scratch
    for (let i = 0; i < headLength; i++) out[i] = head[i]!
    const at = writeBinHeader(out, headLength, tail.byteLength)
    parts[0] = out.subarray(0, at)
    parts[1] = tail
    return parts
  }
  return Object.assign(codec, { encodeParts })
}
