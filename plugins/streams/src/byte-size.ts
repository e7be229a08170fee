/**
 * Credit accounting: what one written value costs. Binary counts its bytes, a string its UTF-8
 * bytes, anything else the size the codec encodes it to (the receiver measures the same way after
 * decoding). Every frame costs at least MIN_FRAME_CHARGE.
 */
import type { Codec } from '@echostream/kernel'
import { MIN_FRAME_CHARGE } from './frames.js'

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

/** Data size before the minimum charge; throws (from the codec) on a value it cannot encode. */
export function dataSize(data: unknown, codec: Codec | undefined): number {
  if (data instanceof Uint8Array) return data.byteLength
  if (typeof data === 'string') return utf8Length(data)
  if (!codec) return 0
  return codec.encode({ kind: 'x', payload: data }).byteLength
}

export function chargeOf(size: number): number {
  return size < MIN_FRAME_CHARGE ? MIN_FRAME_CHARGE : size
}
