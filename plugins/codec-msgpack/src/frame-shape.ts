/**
 * The shape check every decoded message goes through, shared by the Node codec (msgpackr) and
 * the browser codec: untrusted input, so every field is checked (PROTOCOL.md, "Codec msgpack").
 */
import type { DecodeResult, Frame } from '@echostream/kernel'
import { codecErrors } from './errors.js'

export function notAFrame(why: string): DecodeResult {
  return { ok: false, error: codecErrors.notAFrame(why) }
}

/** Checks a decoded value's shape; untrusted input, so every field is checked. */
export function toFrame(value: unknown): DecodeResult {
  if (!Array.isArray(value)) return notAFrame(`got ${value === null ? 'nil' : typeof value}, not an array`)
  const length = value.length
  if (length === 0 || length > 5) return notAFrame(`array of ${length} elements`)
  const kind: unknown = value[0]
  if (typeof kind !== 'string' || kind.length === 0) return notAFrame('element 0 (kind) must be a non-empty string')
  const frame: Frame = { kind }
  if (length === 1) return { ok: true, frame }
  const id: unknown = value[1]
  if (id !== undefined && id !== null) {
    if (!Number.isSafeInteger(id) || (id as number) < 0) return notAFrame('element 1 (id) must be a non-negative integer or nil')
    frame.id = id as number
  }
  const name: unknown = value[2]
  if (name !== undefined && name !== null) {
    if (typeof name !== 'string') return notAFrame('element 2 (name) must be a string or nil')
    frame.name = name
  }
  if (length >= 4) frame.payload = value[3]
  const meta: unknown = value[4]
  if (meta !== undefined && meta !== null) {
    if (typeof meta !== 'object' || Array.isArray(meta) || ArrayBuffer.isView(meta)) return notAFrame('element 4 (meta) must be a map or nil')
    frame.meta = meta as Record<string, unknown>
  }
  return { ok: true, frame }
}

