/**
 * The common small frame read without msgpackr's help for its envelope: `[kind, id, name,
 * payload]` with a short ASCII kind and name, an unsigned id of up to 32 bits, at most four
 * elements. The kind and the name come from a small table of the strings seen before (a client
 * hears the same few kinds and event names all day), so a frame costs no string allocation for
 * them; msgpackr reads only the payload. Anything else (a meta map, a long or non-ASCII string, a
 * 64-bit id, a malformed envelope) is left to the full path, which checks and reports it: this
 * module never rejects, it only declines.
 *
 * Why: decoding an event frame cost 1.5× what the limit's Packr took for the limit's message, a
 * third of it the envelope (an array, two strings, then the frame built from the array); the
 * event fan-out row is bound by clients decoding 16 copies of every event (bench/README.md).
 */
import type { Frame } from '@echostream/kernel'
import { writeSized } from './tail.js'

/** Strings kept, a power of two: more kinds and event names than an app uses, little memory (≤ 31 bytes each). */
const TABLE_SIZE = 256

/**
 * Known short strings by their bytes: the last one asked for (an event stream repeats its kind and
 * name), then one slot per hash, the newest string winning its slot.
 */
export class StringTable {
  readonly #bytes: (Uint8Array | undefined)[] = new Array(TABLE_SIZE).fill(undefined)
  readonly #text: string[] = new Array(TABLE_SIZE).fill('')
  #lastBytes: Uint8Array = new Uint8Array(0)
  #lastText = ''

  /** The ASCII string in `source[start, start + length)`, or undefined if a byte is not ASCII. */
  get(source: Uint8Array, start: number, length: number): string | undefined {
    if (sameBytes(this.#lastBytes, source, start, length)) return this.#lastText
    let hash = length
    for (let i = start; i < start + length; i++) hash = (Math.imul(hash, 31) + source[i]!) | 0
    const slot = (hash ^ (hash >>> 8)) & (TABLE_SIZE - 1)
    const known = this.#bytes[slot]
    let text: string
    if (known !== undefined && sameBytes(known, source, start, length)) text = this.#text[slot]!
    else {
      text = ''
      for (let i = start; i < start + length; i++) {
        const byte = source[i]!
        if (byte > 0x7f) return undefined
        text += String.fromCharCode(byte)
      }
      // A copy (a Buffer's slice is a view, and the source may be reused).
      this.#bytes[slot] = Uint8Array.prototype.slice.call(source, start, start + length)
      this.#text[slot] = text
    }
    this.#lastBytes = this.#bytes[slot]!
    this.#lastText = text
    return text
  }
}

function sameBytes(known: Uint8Array, source: Uint8Array, start: number, length: number): boolean {
  if (known.length !== length) return false
  for (let i = 0; i < length; i++) if (known[i] !== source[start + i]) return false
  return true
}

/**
 * Reads the envelope of the common small frame. `read` gives the frame without its payload, and
 * `payloadStart` says where the payload starts (the message's length when there is none);
 * undefined means: use the full path. It reads `source[0, length)` only, and checks each header
 * it reads; it does not look into the payload.
 */
export class EnvelopeReader {
  readonly #kinds = new StringTable()
  readonly #names = new StringTable()
  payloadStart = 0

  read(source: Uint8Array, length: number): Frame | undefined {
    if (length < 2) return undefined
    const head = source[0]!
    if (head < 0x91 || head > 0x94) return undefined // fixarray of 1–4 elements
    const count = head - 0x90
    const kindHead = source[1]!
    if (kindHead < 0xa1 || kindHead > 0xbf) return undefined // fixstr of 1–31 bytes
    let at = 2 + (kindHead - 0xa0)
    if (at > length) return undefined
    const kind = this.#kinds.get(source, 2, kindHead - 0xa0)
    if (kind === undefined) return undefined
    const frame: Frame = { kind }
    if (count > 1) {
      if (at >= length) return undefined
      const idHead = source[at]!
      if (idHead <= 0x7f) {
        frame.id = idHead
        at += 1
      } else if (idHead === 0xc0) at += 1
      else if (idHead === 0xcc && at + 1 < length) {
        frame.id = source[at + 1]!
        at += 2
      } else if (idHead === 0xcd && at + 2 < length) {
        frame.id = (source[at + 1]! << 8) | source[at + 2]!
        at += 3
      } else if (idHead === 0xce && at + 4 < length) {
        frame.id = source[at + 1]! * 0x1000000 + ((source[at + 2]! << 16) | (source[at + 3]! << 8) | source[at + 4]!)
        at += 5
      } else return undefined
    }
    if (count > 2) {
      if (at >= length) return undefined
      const nameHead = source[at]!
      if (nameHead === 0xc0) at += 1
      else if (nameHead >= 0xa0 && nameHead <= 0xbf && at + 1 + (nameHead - 0xa0) <= length) {
        const name = this.#names.get(source, at + 1, nameHead - 0xa0)
        if (name === undefined) return undefined
        frame.name = name
        at += 1 + (nameHead - 0xa0)
      } else return undefined
    }
    if (count < 4 ? at !== length : at >= length) return undefined
    this.payloadStart = at
    return frame
  }
}

/**
 * Writes the envelope of the common frame (the same shape `EnvelopeReader` reads) into `out` from
 * `at`, byte for byte as msgpackr writes `[kind, id, name, payload]`'s first three elements, and
 * returns where the payload goes; -1 when the frame is not of that shape (msgpackr writes it
 * then). The caller has msgpackr write the payload after space it reserved for this (its
 * RESERVE_START_SPACE), so the message is still one buffer, written once.
 */
export function writeEnvelope(out: Uint8Array, at: number, kind: string, id: number | null | undefined, name: string | null | undefined): number {
  out[at++] = 0x94
  at = writeShortAscii(out, at, kind)
  if (at < 0) return -1
  if (id === undefined || id === null) out[at++] = 0xc0
  else if (!(id >= 0 && id <= 0xffffffff && Math.floor(id) === id)) return -1
  else if (id <= 0x7f) out[at++] = id
  else at = writeSized(out, at, id, 0xcc)
  if (name === undefined || name === null) out[at++] = 0xc0
  else at = writeShortAscii(out, at, name)
  return at
}

/** The most bytes `writeEnvelope` writes: array header, two fixstr of 31 bytes, a uint32. */
export const MAX_ENVELOPE = 1 + 2 * 32 + 5

/** A fixstr of an ASCII string of at most 31 characters (msgpackr's form for it); -1 for any other string. */
function writeShortAscii(out: Uint8Array, at: number, text: string): number {
  if (typeof text !== 'string' || text.length > 31) return -1
  const length = text.length
  out[at] = 0xa0 | length
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i)
    if (code > 0x7f) return -1
    out[at + 1 + i] = code
  }
  return at + 1 + length
}
