/**
 * Credit accounting (PROTOCOL.md, streams wire 2): a `stream.data` frame costs the byte length of
 * the whole encoded message that carries it. The sender reads that from `session.send()`, the
 * receiver from its route's `size`: both ends count the same bytes, and nothing is encoded twice
 * to count it (a receiver that re-encoded decoded values to size them could be made to walk a
 * cyclic value forever). Before sending, the sender needs an upper bound to check its credit
 * with: the data's own size plus the most framing a data frame adds.
 */
import type { Codec } from '@echostream/kernel'

/**
 * The most bytes MessagePack framing adds around the data of a `stream.data` message:
 * `[kind, id, nil, [seq, wallTime, data]]` is 1 (array) + 12 ("stream.data") + 9 (id) + 1 (nil)
 * + 1 (array) + 9 (seq) + 9 (wallTime) + 5 (bin/str header) = 47 bytes; rounded up. A sender that
 * sees more (an outbound tap that adds to data frames) raises its own bound by the difference.
 */
export const FRAME_OVERHEAD = 64

const encoder = typeof Buffer === 'undefined' ? new TextEncoder() : undefined

export function utf8Length(text: string): number {
  return encoder ? encoder.encode(text).byteLength : Buffer.byteLength(text, 'utf8')
}

/** Typed arrays, DataViews and ArrayBuffers travel as their bytes: a Uint8Array view, no copy. */
export function asBytes(data: unknown): unknown {
  if (data instanceof Uint8Array) return data
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return data
}

/**
 * The size of the data alone, for the sender's upper bound: binary bytes, UTF-8 bytes, or what the
 * codec encodes any other value to (which also proves it can: throws for a value it cannot encode).
 */
export function dataSize(data: unknown, codec: Codec | undefined): number {
  if (data instanceof Uint8Array) return data.byteLength
  if (typeof data === 'string') return utf8Length(data)
  if (!codec) return 0
  return codec.encode({ kind: 'x', payload: data }).byteLength
}
