/**
 * The large binary a payload ends with — a stream chunk's `[seq, wallTime, data]` — which the codec
 * writes apart from the rest of the message (codec.ts `packWithTail`, parts.ts `encodeParts`).
 */

/** A binary at least this large that ends a payload is written into the message by the codec itself. */
export const LARGE_BINARY = 4096

/** How far into nested arrays the tail is looked for: a stream chunk's binary is one level in. */
const TAIL_LEVELS = 3

const EMPTY_BINARY = new Uint8Array(0)

/**
 * The Uint8Array a payload ends with — the payload itself, or the last element of its (last
 * nested) array, at most TAIL_LEVELS arrays in — when it is large enough to be written apart;
 * undefined otherwise (another typed array is left to the encoder, which re-views it). Bounded by
 * TAIL_LEVELS, so even a value that changes under it (an index getter) cannot keep it walking.
 */
export function largeTail(value: unknown): Uint8Array | undefined {
  for (let level = 0; level <= TAIL_LEVELS; level++) {
    if (value instanceof Uint8Array) return value.byteLength < LARGE_BINARY ? undefined : value
    if (!Array.isArray(value) || value.length === 0) return undefined
    value = value[value.length - 1]
  }
  return undefined
}

/** `value` with the binary it ends with (found by `largeTail`) replaced by an empty one; the arrays on the way are copied, the caller's are not changed. */
export function withEmptyTail(value: unknown, level = 0): unknown {
  if (!Array.isArray(value) || level > TAIL_LEVELS) return EMPTY_BINARY
  const copy = value.slice()
  copy[copy.length - 1] = withEmptyTail(copy[copy.length - 1], level + 1)
  return copy
}

/** Bytes of MessagePack's bin header for a binary of `length` bytes (bin 8, 16 or 32). */
export function binHeaderLength(length: number): number {
  return length < 0x100 ? 2 : length < 0x10000 ? 3 : 5
}

/** Writes the bin header for a binary of `length` bytes into `out` at `at`; returns the position after it. */
export function writeBinHeader(out: Uint8Array, at: number, length: number): number {
  return writeSized(out, at, length, 0xc4)
}

/**
 * Writes `n` (an integer below 2^32) in the smallest of a type's 8-, 16- and 32-bit forms, whose
 * header bytes follow one another from `form8` (bin 8/16/32: 0xc4–0xc6; uint 8/16/32:
 * 0xcc–0xce); returns the position after it.
 */
export function writeSized(out: Uint8Array, at: number, n: number, form8: number): number {
  if (n < 0x100) {
    out[at++] = form8
    out[at++] = n
  } else if (n < 0x10000) {
    out[at++] = form8 + 1
    out[at++] = n >>> 8
    out[at++] = n & 0xff
  } else {
    out[at++] = form8 + 2
    out[at++] = n >>> 24
    out[at++] = (n >>> 16) & 0xff
    out[at++] = (n >>> 8) & 0xff
    out[at++] = n & 0xff
  }
  return at
}
