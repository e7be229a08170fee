/**
 * `encodeParts`: a frame whose payload ends with a large binary, as (head, binary) parts whose
 * concatenation is exactly `encode(frame)` — byte for byte what msgpackr writes for the whole
 * frame — with the binary itself left uncopied; undefined for any other frame.
 */
import { describe, expect, it } from 'vitest'
import { pack } from 'msgpackr'
import type { Frame } from '@echostream/kernel'
import { createMsgpackCodec } from '../../src/codec.js'
import { withEncodeParts } from '../../src/parts.js'

const codec = withEncodeParts(createMsgpackCodec())
const bytes = (n: number, seed = 0) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff)
const joined = (parts: readonly Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)))

describe('codec-msgpack: encodeParts', () => {
  it.each([
    { name: 'a 4 KiB chunk (bin16)', frame: { kind: 'stream.data', id: 3, payload: [0, 1_764_000_000_000_000, bytes(4096)] } },
    { name: 'a 64 KiB chunk (bin32)', frame: { kind: 'stream.data', id: 5, payload: [12, 1.25, bytes(65_536, 1)] } },
    { name: 'a 70,000-byte chunk, large seq and id', frame: { kind: 'stream.data', id: 2 ** 40, payload: [2 ** 33, -7, bytes(70_000, 2)] } },
    { name: 'a bare binary payload with a name', frame: { kind: 'x.blob', id: 1, name: 'file', payload: bytes(5000, 3) } },
    { name: 'a binary three arrays in', frame: { kind: 'x.deep', payload: [1, [2, [3, bytes(8192, 4)]]] } },
    { name: 'a Buffer chunk', frame: { kind: 'stream.data', id: 1, payload: [1, 2, Buffer.from(bytes(10_000, 5))] } },
  ])('$name: the parts joined are exactly encode(frame) and what msgpackr packs; the binary is not copied', ({ frame }) => {
    const whole = Buffer.from(codec.encode(frame as Frame))
    const parts = codec.encodeParts(frame as Frame)!
    expect(parts).toHaveLength(2)
    expect(joined(parts).equals(whole)).toBe(true)
    const f = frame as Frame
    expect(whole.equals(pack([f.kind, f.id ?? null, f.name ?? null, f.payload]))).toBe(true)
    // The tail part is the caller's binary itself (a view of the same memory), not a copy.
    let tail: unknown = f.payload
    while (Array.isArray(tail)) tail = tail[tail.length - 1]
    expect(parts[1]!.buffer).toBe((tail as Uint8Array).buffer)
    expect(parts[1]!.byteOffset).toBe((tail as Uint8Array).byteOffset)
    expect(codec.decode(joined(parts)).ok).toBe(true)
  })

  it.each([
    { name: 'a small binary (< 4 KiB)', frame: { kind: 'stream.data', id: 3, payload: [0, 1, bytes(4095)] } },
    { name: 'no payload', frame: { kind: 'stream.end', id: 3 } },
    { name: 'a string chunk', frame: { kind: 'stream.data', id: 3, payload: [0, 1, 'x'.repeat(10_000)] } },
    { name: 'a binary not at the end', frame: { kind: 'x', payload: [bytes(10_000), 1] } },
    { name: 'a frame with meta', frame: { kind: 'x', payload: bytes(10_000), meta: { trace: 'a' } } },
    { name: 'a binary four arrays in', frame: { kind: 'x', payload: [[[[[bytes(10_000)]]]]] } },
  ])('$name: undefined (the kernel then encodes it whole)', ({ frame }) => {
    expect(codec.encodeParts(frame as Frame)).toBeUndefined()
  })

  it('the head part is scratch, reused by the next call (valid until then); a head larger than the scratch still joins right', () => {
    const first = codec.encodeParts({ kind: 'stream.data', id: 1, payload: [1, 2, bytes(5000)] })!
    const head = Buffer.from(first[0]!)
    const longName = 'n'.repeat(1000)
    const frame = { kind: 'x.named', id: 9, name: longName, payload: [longName, bytes(6000, 7)] }
    const second = codec.encodeParts(frame)!
    expect(joined(second).equals(Buffer.from(codec.encode(frame)))).toBe(true)
    const again = codec.encodeParts({ kind: 'stream.data', id: 1, payload: [1, 2, bytes(5000)] })!
    expect(Buffer.from(again[0]!).equals(head)).toBe(true)
  })

  it('a value the codec cannot encode throws E_CODEC as encode does', () => {
    const cyclic: unknown[] = [1]
    cyclic.push(cyclic)
    expect(() => codec.encodeParts({ kind: 'stream.data', id: 1, payload: [1, cyclic, bytes(5000)] })).toThrow(expect.objectContaining({ code: 'E_CODEC' }))
  })
})
