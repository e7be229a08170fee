/**
 * Byte-level tests of the msgpack codec (as ws's receiver tests feed hex): hex in, a frame or an
 * error result out; the decoder never throws. Frames round-trip with binary staying binary.
 */
import { describe, expect, it } from 'vitest'
import { pack } from 'msgpackr'
import { EchoError, type Frame } from '@echostream/kernel'
import { createMsgpackCodec } from '../../src/codec.js'
import plugin, { schema } from '../../src/index.js'

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex')
const codec = createMsgpackCodec()

function decodeOk(bytes: Uint8Array): Frame {
  const result = codec.decode(bytes)
  if (!result.ok) throw new Error(`expected a frame, got ${result.error.code}: ${result.error.message}`)
  return result.frame
}

function decodeError(bytes: Uint8Array): EchoError {
  const result = codec.decode(bytes)
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.frame)}`)
  expect(result.error).toBeInstanceOf(EchoError)
  return result.error
}

describe('codec-msgpack: decode (bytes → frame)', () => {
  it.each([
    // [kind] — fixarray(1) fixstr(3) "a.b"
    { bytes: '91 a3 612e62', frame: { kind: 'a.b' } },
    // [kind, id] — id 5
    { bytes: '92 a3 612e62 05', frame: { kind: 'a.b', id: 5 } },
    // [kind, nil, name]
    { bytes: '93 a3 612e62 c0 a1 6e', frame: { kind: 'a.b', name: 'n' } },
    // [kind, id, nil, payload {x: 1}]
    { bytes: '94 a3 612e62 07 c0 81 a1 78 01', frame: { kind: 'a.b', id: 7, payload: { x: 1 } } },
    // [kind, nil, nil, nil payload, meta {t: true}]
    { bytes: '95 a3 612e62 c0 c0 c0 81 a1 74 c3', frame: { kind: 'a.b', payload: null, meta: { t: true } } },
    // payload nil is kept as null (a frame may carry null on purpose)
    { bytes: '94 a3 612e62 c0 c0 c0', frame: { kind: 'a.b', payload: null } },
    // id as uint32
    { bytes: '92 a3 612e62 ce 00010000', frame: { kind: 'a.b', id: 65536 } },
  ])('$bytes → $frame', ({ bytes, frame }) => {
    expect(decodeOk(hex(bytes))).toEqual(frame)
  })

  it('keeps a bin payload binary (a Uint8Array, not base64 or a number array)', () => {
    // [kind, nil, nil, bin8(3) 01 02 ff]
    const frame = decodeOk(hex('94 a3 612e62 c0 c0 c4 03 0102ff'))
    expect(frame.payload).toBeInstanceOf(Uint8Array)
    expect([...(frame.payload as Uint8Array)]).toEqual([1, 2, 255])
  })

  it.each([
    { name: 'empty input', bytes: '' },
    { name: '0xc1 (never used in MessagePack)', bytes: 'c1' },
    { name: '0xc1 as the payload of a well-formed frame', bytes: '94 a3 612e62 c0 c0 c1' },
    { name: '0xc1 deep inside a payload', bytes: '94 a3 612e62 c0 c0 81 a1 78 92 01 c1' },
    { name: 'truncated array', bytes: '93 a3 612e' },
    { name: 'truncated bin', bytes: '94 a3 612e62 c0 c0 c4 05 0102' },
    { name: 'trailing bytes after the value', bytes: '91 a3 612e62 ff' },
    { name: 'an array header claiming 2^32-1 elements', bytes: 'dd ffffffff' },
    { name: 'a map header claiming 2^32-1 entries', bytes: 'df ffffffff' },
    { name: 'an unknown extension type', bytes: 'c7 02 05 0000' },
    { name: 'a map with an array as key', bytes: '94 a3 612e62 c0 c0 81 91 c0 c0' },
  ])('garbage → E_CODEC, never a throw: $name', ({ bytes }) => {
    const error = decodeError(hex(bytes))
    expect(error.code).toBe('E_CODEC')
    expect(error.message).toMatch(/MessagePack/)
  })

  it('very deep nesting → E_CODEC (no stack overflow escapes)', () => {
    const error = decodeError(Buffer.concat([hex('94 a3 612e62 c0 c0'), Buffer.alloc(200_000, 0x91), hex('c0')]))
    expect(error.code).toBe('E_CODEC')
  })

  it.each([
    { name: 'a number', value: 42, says: /got number/ },
    { name: 'nil', value: null, says: /got nil/ },
    { name: 'a map', value: { kind: 'a.b' }, says: /got object/ },
    { name: 'an empty array', value: [], says: /0 elements/ },
    { name: 'an array of 6', value: ['a', null, null, null, null, null], says: /6 elements/ },
    { name: 'a numeric kind', value: [1], says: /kind/ },
    { name: 'an empty kind', value: [''], says: /kind/ },
    { name: 'a string id', value: ['a.b', '1'], says: /id/ },
    { name: 'a negative id', value: ['a.b', -1], says: /id/ },
    { name: 'a fractional id', value: ['a.b', 1.5], says: /id/ },
    { name: 'an id beyond 2^53', value: ['a.b', 2 ** 60], says: /id/ },
    { name: 'a numeric name', value: ['a.b', null, 3], says: /name/ },
    { name: 'meta as an array', value: ['a.b', null, null, null, [1]], says: /meta/ },
    { name: 'meta as binary', value: ['a.b', null, null, null, Buffer.from([1])], says: /meta/ },
    { name: 'meta as a string', value: ['a.b', null, null, null, 'm'], says: /meta/ },
  ])('valid MessagePack that is not a frame → E_PROTOCOL: $name', ({ value, says }) => {
    const error = decodeError(pack(value))
    expect(error.code).toBe('E_PROTOCOL')
    expect(error.message).toMatch(/Not an echostream frame/)
    expect(error.message).toMatch(says)
  })

  it('never throws on random bytes, and decodes a valid frame right after each failure', () => {
    // A small deterministic PRNG (mulberry32) so a failure can be replayed.
    let seed = 0x5eed
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
    const valid = hex('94 a3 612e62 07 c0 81 a1 78 01')
    let errors = 0
    for (let i = 0; i < 3000; i++) {
      const length = 1 + Math.floor(random() * 40)
      const bytes = Buffer.alloc(length)
      for (let j = 0; j < length; j++) bytes[j] = Math.floor(random() * 256)
      // Start most inputs with a plausible header so the fuzz reaches past the first byte.
      if (i % 2 === 0) bytes[0] = 0x90 + (bytes[0]! % 6)
      let result
      expect(() => (result = codec.decode(bytes))).not.toThrow()
      expect(result).toHaveProperty('ok')
      if (!result!.ok) {
        errors++
        expect(['E_CODEC', 'E_PROTOCOL']).toContain(result!.error.code)
      }
      expect(codec.decode(valid)).toEqual({ ok: true, frame: { kind: 'a.b', id: 7, payload: { x: 1 } } })
    }
    expect(errors).toBeGreaterThan(0)
  })

  it('does not pollute prototypes from a "__proto__" key', () => {
    const frame = decodeOk(pack(['a.b', null, null, JSON.parse('{"__proto__": {"polluted": true}}')]))
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect((frame.payload as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('codec-msgpack: encode (frame → bytes)', () => {
  it.each([
    { frame: { kind: 'a.b' }, bytes: '91 a3 612e62' },
    { frame: { kind: 'a.b', id: 5 }, bytes: '92 a3 612e62 05' },
    { frame: { kind: 'a.b', name: 'n' }, bytes: '93 a3 612e62 c0 a1 6e' },
    { frame: { kind: 'a.b', payload: 1 }, bytes: '94 a3 612e62 c0 c0 01' },
  ])('$frame → $bytes (trailing absent fields left off)', ({ frame, bytes }) => {
    expect(Buffer.from(codec.encode(frame)).toString('hex')).toBe(hex(bytes).toString('hex'))
  })

  it('meta without payload: five elements, payload nil', () => {
    const bytes = Buffer.from(codec.encode({ kind: 'a.b', meta: { t: true } }))
    // msgpackr may write a map with a map16 header (valid MessagePack), so check the array part only.
    expect(bytes.subarray(0, 8).toString('hex')).toBe(hex('95 a3 612e62 c0 c0 c0').toString('hex'))
    expect(decodeOk(bytes)).toEqual({ kind: 'a.b', payload: null, meta: { t: true } })
  })

  it('encodes binary as bin, not as an array or base64', () => {
    const bytes = Buffer.from(codec.encode({ kind: 'a.b', payload: new Uint8Array([1, 2, 255]) }))
    expect(bytes.toString('hex')).toBe(hex('94 a3 612e62 c0 c0 c4 03 0102ff').toString('hex'))
  })

  it('returns bytes that later encodes do not overwrite', () => {
    const first = codec.encode({ kind: 'first', payload: 'x'.repeat(100) })
    const copy = Buffer.from(first)
    for (let i = 0; i < 1000; i++) codec.encode({ kind: 'other', id: i, payload: 'y'.repeat(i % 300) })
    expect(Buffer.from(first)).toEqual(copy)
  })
})

describe('codec-msgpack: round-trip', () => {
  it.each<{ name: string; frame: Frame }>([
    { name: 'kind only', frame: { kind: 'rpc.req' } },
    { name: 'every field', frame: { kind: 'rpc.req', id: 42, name: 'math.add', payload: { a: 1, b: [2, 3], c: 'x', d: null, e: true, f: 1.5 }, meta: { trace: 'abc' } } },
    { name: 'id 0 and empty name', frame: { kind: 'k', id: 0, name: '' } },
    { name: 'large safe id', frame: { kind: 'k', id: Number.MAX_SAFE_INTEGER } },
    { name: 'unicode', frame: { kind: 'events.emit', name: 'chat', payload: { text: 'héllo 🌍 日本' } } },
    { name: 'negative and big numbers', frame: { kind: 'k', payload: [-1, -129, 2 ** 40, -(2 ** 40), 0.1] } },
  ])('$name', ({ frame }) => {
    expect(decodeOk(codec.encode(frame))).toEqual(frame)
  })

  it('binary stays binary (Buffer and Uint8Array in, bytes out), nested too', () => {
    const buffer = Buffer.from([0, 1, 2, 254, 255])
    const uint8 = new Uint8Array([9, 8, 7])
    const big = new Uint8Array(100_000).map((_, i) => i % 251)
    const frame = decodeOk(codec.encode({ kind: 'streams.data', id: 1, payload: { buffer, nested: [{ uint8 }], big } }))
    const payload = frame.payload as { buffer: Uint8Array; nested: Array<{ uint8: Uint8Array }>; big: Uint8Array }
    for (const value of [payload.buffer, payload.nested[0]!.uint8, payload.big]) expect(value).toBeInstanceOf(Uint8Array)
    expect(Buffer.from(payload.buffer)).toEqual(buffer)
    expect([...payload.nested[0]!.uint8]).toEqual([9, 8, 7])
    expect(Buffer.from(payload.big).equals(Buffer.from(big))).toBe(true)
  })

  it.each([
    { name: 'Float32Array', view: new Float32Array([1.5, -2.25, 1e10]) },
    { name: 'Float64Array', view: new Float64Array([1, 2, Math.PI]) },
    { name: 'Uint16Array', view: new Uint16Array([1, 0x1234, 0xffff]) },
    { name: 'Int32Array', view: new Int32Array([-1, 2 ** 30]) },
    { name: 'Int8Array', view: new Int8Array([-1, 127, -128]) },
    { name: 'DataView', view: new DataView(new Uint8Array([9, 8, 7, 6]).buffer) },
    { name: 'a Float32Array view at an offset', view: new Float32Array(new Float32Array([1, 2, 3, 4]).buffer, 4, 2) },
    { name: 'a Uint8Array view at an offset', view: new Uint8Array([0, 1, 2, 3, 4]).subarray(1, 4) },
  ])('any binary view ($name) travels as exactly its bytes, also nested and in meta', ({ view }) => {
    const expected = Buffer.from(view.buffer, view.byteOffset, view.byteLength)
    // Dirty the encoder's shared buffer first: stale bytes must never reach the wire.
    codec.encode({ kind: 'noise', payload: 'z'.repeat(200) })
    const payload = { direct: view, list: [1, view], deep: { deeper: [{ view }] } }
    const frame = decodeOk(codec.encode({ kind: 'k', payload, meta: { view } }))
    const out = frame.payload as typeof payload
    const all = [out.direct, out.list[1], out.deep.deeper[0]!.view, (frame.meta as { view: unknown }).view]
    for (const bytes of all) {
      expect(bytes).toBeInstanceOf(Uint8Array)
      expect(Buffer.from(bytes as Uint8Array).equals(expected)).toBe(true)
    }
    // The caller's payload is not changed.
    expect(payload.direct).toBe(view)
    expect(payload.list[1]).toBe(view)
  })

  it('an ArrayBuffer travels as its bytes', () => {
    const frame = decodeOk(codec.encode({ kind: 'k', payload: new Uint8Array([5, 6, 7]).buffer }))
    expect([...(frame.payload as Uint8Array)]).toEqual([5, 6, 7])
  })

  it('undefined fields and values travel as nil/absent, not as errors', () => {
    const frame = decodeOk(codec.encode({ kind: 'k', id: undefined, payload: { a: undefined, b: 1 } }))
    expect(frame.kind).toBe('k')
    expect(frame.id).toBeUndefined()
    expect((frame.payload as { b: number }).b).toBe(1)
  })

  it('with bigint: true, 64-bit integers beyond 2^53 decode as BigInt', () => {
    const bigCodec = createMsgpackCodec({ bigint: true })
    // [k, nil, nil, uint64 2^60]
    const frame = bigCodec.decode(hex('94 a1 6b c0 c0 cf 1000000000000000'))
    expect(frame.ok && frame.frame.payload).toBe(2n ** 60n)
  })
})

describe('codec-msgpack: plugin', () => {
  it('provides the codec capability, with a closed option schema', () => {
    expect(plugin.name).toBe('codec-msgpack')
    expect(plugin.provides).toEqual(['codec'])
    expect(schema.additionalProperties).toBe(false)
  })
})
