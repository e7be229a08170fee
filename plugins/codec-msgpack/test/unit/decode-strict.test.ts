/**
 * Strict, bounded decoding, byte by byte (hex in, result out): every extension and msgpackr-only
 * structure is refused, declared lengths are checked against the bytes that remain before anything
 * is allocated, nesting is limited by maxDepth, and decode never throws.
 */
import { describe, expect, it } from 'vitest'
import { Packr } from 'msgpackr'
import { EchoError, type DecodeResult } from '@echostream/kernel'
import { createMsgpackCodec, DEFAULT_MAX_DEPTH } from '../../src/codec.js'
import { Fault, createScanner } from '../../src/scan.js'

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex')
const codec = createMsgpackCodec()

function refused(bytes: Uint8Array, code = 'E_CODEC'): EchoError {
  let result: DecodeResult | undefined
  expect(() => (result = codec.decode(bytes))).not.toThrow()
  if (result!.ok) throw new Error(`expected ${code}, got a frame ${JSON.stringify(result!.frame)}`)
  expect(result!.error).toBeInstanceOf(EchoError)
  expect(result!.error.code).toBe(code)
  return result!.error
}

/** A frame header `[ "k", nil, nil, <payload>` (fixarray 4). */
const FRAME = '94 a1 6b c0 c0'

describe('codec-msgpack strict decode: extension types are refused', () => {
  it.each([
    { name: 'fixext 1 (msgpackr undefined / tag)', bytes: `${FRAME} d4 00 00`, type: 0 },
    { name: 'timestamp 32', bytes: `${FRAME} d6 ff 65 53 f1 00`, type: -1 },
    { name: 'timestamp 64 (what msgpackr writes for a Date)', bytes: `${FRAME} d7 ff 1d535300 6553f100`, type: -1 },
    { name: 'timestamp 96', bytes: `${FRAME} c7 0c ff 00000000 0000000065 53f100`, type: -1 },
    { name: 'fixext 2', bytes: `${FRAME} d5 01 0000`, type: 1 },
    { name: 'fixext 16', bytes: `${FRAME} d8 05 ${'00'.repeat(16)}`, type: 5 },
    { name: 'ext 16', bytes: `${FRAME} c8 0001 07 00`, type: 7 },
    { name: 'ext 32', bytes: `${FRAME} c9 00000001 08 00`, type: 8 },
    { name: "msgpackr Set (moreTypes, 's')", bytes: `${FRAME} d4 73 00 91 01`, type: 0x73 },
    { name: "structured-clone pointer ('p')", bytes: `${FRAME} d6 70 00000001`, type: 0x70 },
    { name: 'an extension as a map value', bytes: `${FRAME} 81 a1 78 d4 01 00`, type: 1 },
    { name: 'an extension as the whole message', bytes: 'd4 01 00', type: 1 },
  ])('$name', ({ bytes, type }) => {
    const error = refused(hex(bytes))
    expect(error.message).toMatch(new RegExp(`extension \\(type ${type}\\)`))
    expect(error.message).toMatch(/plain MessagePack only/)
    expect((error.data as { extension: number }).extension).toBe(type)
  })

  it('a cut-off extension header is refused as an extension, not read past the end', () => {
    expect(refused(hex(`${FRAME} d4`)).message).toMatch(/extension \(type \(cut off\)\)/)
    expect(refused(hex(`${FRAME} c7 05`)).message).toMatch(/extension/)
  })

  it("the issue's frame: ['rpc.req', 1, 'echo', a] with a = [1, a] as structured-clone records (0x69/0x70)", () => {
    const a: unknown[] = [1]
    a.push(a)
    const bytes = new Packr({ structuredClone: true }).pack(['rpc.req', 1, 'echo', a])
    // msgpackr writes the id record 0x69 ('i') around the array and a 0x70 ('p') pointer back to it.
    expect(bytes.toString('hex')).toBe('94a77270632e72657101a46563686fd669000000019201d67000000001')
    const error = refused(bytes)
    expect(error.message).toMatch(/extension \(type 105\)/)
  })

  it.each([
    { name: 'records (useRecords)', packr: new Packr({ useRecords: true }), value: ['k', null, null, { x: 1 }] },
    { name: 'bundled strings', packr: new Packr({ bundleStrings: true }), value: ['k', null, null, 'a'.repeat(20)] },
    { name: 'a Date (timestamp extension)', packr: new Packr(), value: ['k', null, null, new Date(1_700_000_000_123)] },
    { name: 'a Set (moreTypes)', packr: new Packr({ moreTypes: true }), value: ['k', null, null, new Set([1])] },
    { name: 'a Float32Array (moreTypes)', packr: new Packr({ moreTypes: true }), value: ['k', null, null, new Float32Array([1])] },
  ])('msgpackr-specific structure: $name', ({ packr, value }) => {
    refused(packr.pack(value))
  })

  it('0xc1 is refused as a type byte, but is plain data inside a str or bin', () => {
    expect(refused(hex(`${FRAME} 92 01 c1`)).message).toMatch(/0xc1/)
    const ok = codec.decode(hex(`${FRAME} 92 a1 c1 c4 01 c1`))
    expect(ok.ok).toBe(true)
  })
})

describe('codec-msgpack strict decode: declared lengths are checked before anything is allocated', () => {
  it('24 bytes declaring a 2^25-element array are refused by the scan (msgpackr never sees them)', () => {
    // [ "rpc.req", 1, "echo", array32(2^25) ] + padding: 24 bytes.
    const bytes = hex('94 a7 7270632e726571 01 a4 6563686f dd 02000000 00 00 00 00')
    expect(bytes.byteLength).toBe(24)
    const error = refused(bytes)
    expect(error.message).toBe(
      'Cannot decode the message as MessagePack: the array at byte 15 declares 33554432 elements, more than the message holds. Send one plain MessagePack value per message, as the msgpack codec writes it (PROTOCOL.md); is the peer using the msgpack codec?',
    )
  })

  it.each([
    { name: 'array32 of 2^32-1', bytes: 'dd ffffffff', what: 'array', declared: 4294967295 },
    { name: 'array16 of 65535 with 3 bytes left', bytes: 'dc ffff 01 02 03', what: 'array', declared: 65535 },
    { name: 'fixarray of 15 with 14 left', bytes: `9f ${'01'.repeat(14)}`, what: 'array', declared: 15 },
    { name: 'map32 of 2^32-1', bytes: 'df ffffffff', what: 'map', declared: 4294967295 },
    { name: 'map16 of 3 entries with 5 bytes left (each entry needs 2)', bytes: 'de 0003 01 01 01 01 01', what: 'map', declared: 3 },
    { name: 'fixmap of 1 with 1 byte left', bytes: '81 01', what: 'map', declared: 1 },
    { name: 'str32 of 2^32-1', bytes: 'db ffffffff 61', what: 'str', declared: 4294967295 },
    { name: 'str8 of 5 with 2 left', bytes: 'd9 05 6162', what: 'str', declared: 5 },
    { name: 'fixstr of 3 with 2 left', bytes: 'a3 6162', what: 'str', declared: 3 },
    { name: 'bin32 of 2^32-1', bytes: 'c6 ffffffff 00', what: 'bin', declared: 4294967295 },
    { name: 'bin16 of 256 with 1 left', bytes: 'c5 0100 00', what: 'bin', declared: 256 },
    { name: 'a nested bomb: [[array32 2^31]]', bytes: '91 91 dd 80000000 00', what: 'array', declared: 2 ** 31 },
  ])('$name', ({ bytes, what, declared }) => {
    const error = refused(hex(bytes))
    expect(error.message).toMatch(new RegExp(`the ${what} at byte \\d+ declares ${declared} `))
  })

  it('a message of 100,000 declared-but-absent arrays is refused without allocating them', () => {
    // 33 bytes per nested level would be needed; each header claims 2^16-1 elements of 3-byte headers.
    const bytes = Buffer.concat([hex('dc ffff'), Buffer.alloc(3 * 1000, 0xdc)])
    refused(bytes)
  })

  it('every truncation of a valid frame is refused (and never over-reads into a previous message)', () => {
    const full = codec.encode({ kind: 'rpc.req', id: 300, name: 'math.add', payload: { a: [1, 2.5, 'x', null, true, -7, 2 ** 40], b: Buffer.alloc(300, 7), c: 'é'.repeat(40) }, meta: { t: 1 } })
    expect(codec.decode(full).ok).toBe(true)
    for (let cut = 0; cut < full.byteLength; cut++) {
      // A longer message first, so the scratch buffer holds bytes that would complete the cut one.
      expect(codec.decode(full).ok).toBe(true)
      const error = refused(full.subarray(0, cut))
      expect(error.message).toMatch(/empty|ends inside a value|declares/)
    }
  })

  it.each([
    { name: 'one byte after the frame', bytes: '91 a1 6b ff', says: /1 bytes follow the value \(from byte 3\)/ },
    { name: 'a second frame', bytes: '91 a1 6b 91 a1 6b', says: /3 bytes follow/ },
  ])('trailing bytes: $name', ({ bytes, says }) => {
    expect(refused(hex(bytes)).message).toMatch(says)
  })
})

describe('codec-msgpack strict decode: nesting depth', () => {
  const nested = (levels: number, open = '91', leaf = 'c0') => Buffer.concat([hex(FRAME), Buffer.alloc(levels, Number.parseInt(open, 16)), hex(leaf)])

  it(`the default is ${DEFAULT_MAX_DEPTH} levels, the frame array being level 1`, () => {
    // Frame (1) + 99 arrays = 100 levels: decodes.
    const ok = codec.decode(nested(DEFAULT_MAX_DEPTH - 1))
    expect(ok.ok).toBe(true)
    let value = ok.ok ? ok.frame.payload : undefined
    let levels = 0
    while (Array.isArray(value)) {
      levels++
      value = value[0]
    }
    expect(levels).toBe(DEFAULT_MAX_DEPTH - 1)
    // One more (even an empty one) is refused.
    const error = refused(nested(DEFAULT_MAX_DEPTH))
    expect(error.message).toMatch(/nest deeper than 100 levels/)
    expect(error.message).toMatch(/maxDepth/)
    refused(nested(DEFAULT_MAX_DEPTH - 1, '91', '90'))
    refused(nested(DEFAULT_MAX_DEPTH - 1, '91', '80'))
  })

  it('maps count as levels too', () => {
    // {a: {a: … nil}}: fixmap(1) "a" …
    const levels = (n: number) => Buffer.concat([hex(FRAME), ...Array.from({ length: n }, () => hex('81 a1 61')), hex('c0')])
    expect(codec.decode(levels(DEFAULT_MAX_DEPTH - 1)).ok).toBe(true)
    refused(levels(DEFAULT_MAX_DEPTH))
  })

  it('200,000 levels (what overflowed the stack) are refused at level 101', () => {
    const error = refused(nested(200_000))
    expect((error.data as { offset: number }).offset).toBe(5 + DEFAULT_MAX_DEPTH - 1)
  })

  it('maxDepth is an option', () => {
    const shallow = createMsgpackCodec({ maxDepth: 8 })
    expect(shallow.decode(nested(7)).ok).toBe(true)
    const result = shallow.decode(nested(8))
    expect(!result.ok && result.error.message).toMatch(/deeper than 8 levels/)
    expect(() => createMsgpackCodec({ maxDepth: 1 })).toThrow(/maxDepth/)
  })
})

describe('codec-msgpack strict decode: map keys', () => {
  it.each([
    { name: 'an array', key: '91 01' },
    { name: 'a map', key: '80' },
    { name: 'a bin', key: 'c4 01 61' },
    { name: 'an empty array', key: '90' },
  ])('a key that is $name is refused', ({ key }) => {
    expect(refused(hex(`${FRAME} 81 ${key} 01`)).message).toMatch(/map key at byte 6/)
  })

  it.each([
    { name: 'a string', key: 'a1 78', property: 'x' },
    { name: 'an integer', key: '07', property: '7' },
    { name: 'a negative integer', key: 'ff', property: '-1' },
    { name: 'a uint16', key: 'cd 0100', property: '256' },
    { name: 'a float', key: 'cb 3ff8000000000000', property: '1.5' },
    { name: 'a bool', key: 'c3', property: 'true' },
    { name: 'nil', key: 'c0', property: 'null' },
  ])('a scalar key ($name) becomes a property name', ({ key, property }) => {
    const result = codec.decode(hex(`${FRAME} 81 ${key} 01`))
    expect(result.ok && result.frame.payload).toEqual({ [property]: 1 })
  })

  it('the key check applies to keys only: values may be containers, at every map level', () => {
    expect(codec.decode(hex(`${FRAME} 82 a1 61 91 80 a1 62 81 a1 63 90`)).ok).toBe(true)
    refused(hex(`${FRAME} 82 a1 61 91 80 a1 62 81 90 c0`))
  })
})

describe('codec-msgpack scanner', () => {
  it('accepts every plain type, and reports faults with offsets', () => {
    const scanner = createScanner(10)
    const all = hex('dc 0010 c0 c2 c3 7f e0 cc ff cd ffff ce ffffffff cf ffffffffffffffff d0 80 d1 8000 d2 80000000 d3 8000000000000000 ca 3fc00000 cb 3ff8000000000000 dc0001 90')
    expect(scanner.scan(all, all.byteLength)).toBe(true)
    const bins = hex('96 c4 01 00 c5 0001 00 c6 00000001 00 d9 01 61 da 0001 61 db 00000001 61')
    expect(scanner.scan(bins, bins.byteLength)).toBe(true)
    expect(scanner.scan(hex('92 01 c1'), 3)).toBe(false)
    expect([scanner.fault, scanner.offset]).toEqual([Fault.neverUsed, 2])
    expect(scanner.scan(hex('92 01'), 2)).toBe(false)
    expect([scanner.fault, scanner.offset, scanner.detail, scanner.what]).toEqual([Fault.tooLong, 0, 2, 'array'])
    expect(scanner.scan(hex('92 01 01 01'), 3)).toBe(true)
    expect(scanner.scan(hex('92 91 01'), 3)).toBe(false)
    expect([scanner.fault, scanner.offset]).toEqual([Fault.truncated, 3])
    expect(scanner.scan(hex('cd ff'), 2)).toBe(false)
    expect(scanner.fault).toBe(Fault.truncated)
    expect(scanner.scan(hex('dc 00'), 2)).toBe(false)
    expect(scanner.fault).toBe(Fault.truncated)
    // `end` bounds the scan, not the buffer's length.
    expect(scanner.scan(hex('91 01 01'), 2)).toBe(true)
  })

  it('short messages that skip the scan (no risky byte) are judged exactly as the scan judges them', () => {
    // Messages of up to 64 bytes without a variable-length header, extension or 0xc1 go straight
    // to msgpackr (codec.ts, unpack): it must accept exactly what the scanner accepts.
    const scanner = createScanner(DEFAULT_MAX_DEPTH)
    let seed = 0xfa57
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
    // Bytes a short frame is made of: fix headers, fixints, nil/bool, numbers, map16/array16.
    const alphabet = [0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x9f, 0x80, 0x81, 0x82, 0x8f, 0xa0, 0xa1, 0xa2, 0xa3, 0xbf, 0x00, 0x01, 0x7f, 0xe0, 0xff, 0xc0, 0xc2, 0xc3, 0xcc, 0xcd, 0xd0, 0xca, 0xcb, 0xde, 0xdc, 0x61]
    const long = codec.encode({ kind: 'fill', payload: 'z'.repeat(900) })
    let accepted = 0
    for (let i = 0; i < 30_000; i++) {
      const length = 1 + Math.floor(random() * 64)
      const bytes = Buffer.alloc(length)
      for (let j = 0; j < length; j++) bytes[j] = random() < 0.85 ? alphabet[Math.floor(random() * alphabet.length)]! : Math.floor(random() * 256)
      if (i % 7 === 0) codec.decode(long) // leave stale bytes in the scratch buffer
      const result = codec.decode(bytes)
      const scanned = scanner.scan(bytes, length)
      if (scanned) {
        if (!result.ok && result.error.code === 'E_CODEC') throw new Error(`the scan accepts ${bytes.toString('hex')}, decode refused it: ${result.error.message}`)
        accepted++
      } else if (result.ok || result.error.code !== 'E_CODEC') {
        throw new Error(`the scan refuses ${bytes.toString('hex')} (fault ${scanner.fault}), decode gave ${result.ok ? 'a frame' : result.error.code}`)
      }
    }
    expect(accepted).toBeGreaterThan(200)
  })

  it('a short message of nested fix headers over-reads only zeros, and fails', () => {
    codec.decode(codec.encode({ kind: 'fill', payload: Buffer.alloc(900, 0x9f) }))
    // 64 × fixmap(15): declares far more than it holds; no risky byte, so msgpackr reads it directly.
    expect(refused(Buffer.alloc(64, 0x8f)).message).toMatch(/the map key at byte 1 is a container/)
    expect(refused(Buffer.concat([Buffer.alloc(30, 0x9f), Buffer.from([0x8f, 0x01])])).message).toMatch(/the array at byte 17 declares 15 elements/)
    expect(refused(Buffer.alloc(64, 0x9f)).message).toMatch(/declares 15 elements|ends inside/)
    // A map16 in a short message whose count does not fit is scanned (and refused by the scan).
    expect(refused(hex('94 a1 6b c0 c0 de 0100 a1 61 01')).message).toMatch(/the map at byte 5 declares 256 entries/)
  })

  it('never throws, and every input it accepts msgpackr decodes exactly (random bytes)', () => {
    let seed = 0xc0dec
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
    let accepted = 0
    for (let i = 0; i < 20_000; i++) {
      const length = 1 + Math.floor(random() * 24)
      const bytes = Buffer.alloc(length)
      for (let j = 0; j < length; j++) bytes[j] = Math.floor(random() * 256)
      if (i % 2 === 0) bytes[0] = 0x91 + (bytes[0]! % 5)
      const result = codec.decode(bytes)
      if (!result.ok && result.error.message.startsWith('Cannot decode the message as MessagePack (')) {
        throw new Error(`the scanner accepted bytes msgpackr refused: ${bytes.toString('hex')}: ${result.error.message}`)
      }
      if (result.ok || result.error.code === 'E_PROTOCOL') accepted++
    }
    expect(accepted).toBeGreaterThan(100)
  })
})
