/**
 * The envelope reader and writer (envelope.ts) are shortcuts. What the writer writes is what
 * msgpackr writes for the frame's array. Whatever the reader takes must decode exactly as the
 * full path decodes it (msgpackr reads the whole message, then the shape check), and whatever it
 * declines the full path still judges. Checked on generated frames — kinds and names short and
 * long, ASCII and not, ids at every width — and on those frames cut short and with bytes changed.
 */
import { describe, expect, it } from 'vitest'
import { Packr, Unpackr } from 'msgpackr'
import { seededRandom, type DecodeResult, type Frame } from '@echostream/kernel'
import { createMsgpackCodec } from '../../src/codec.js'
import { StringTable } from '../../src/envelope.js'
import { toFrame } from '../../src/frame-shape.js'
import { createScanner } from '../../src/scan.js'
import { DEFAULT_MAX_DEPTH } from '../../src/options.js'

const options = { useRecords: false, moreTypes: false, encodeUndefinedAsNil: true, mapsAsObjects: true, int64AsType: 'number' as const }
const packr = new Packr(options)
const unpackr = new Unpackr({ ...options, copyBuffers: true }) // as the codec reads a small message
const scanner = createScanner(DEFAULT_MAX_DEPTH)

/** What the codec decoded before it had an envelope reader. */
function fullPath(bytes: Uint8Array): DecodeResult | 'throws' {
  try {
    return toFrame(unpackr.unpack(Buffer.from(bytes))) // a Buffer, as the codec's scratch: binary values come out as Buffers
  } catch {
    return 'throws'
  }
}

const random = seededRandom(17)
const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
const text = (length: number, alphabet: string) => Array.from({ length }, () => pick([...alphabet])).join('')

const kinds = () => pick([() => text(1 + Math.floor(random() * 20), 'abcdefgh.'), () => text(31, 'xy'), () => text(32, 'xy'), () => 'événement', () => '', () => 5])()
const ids = [undefined, null, 0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, 1.5]
const names = () => pick([() => undefined, () => null, () => '', () => text(1 + Math.floor(random() * 8), 'abcdefghijklmnopqrstuvwxyz'), () => text(40, 'ab'), () => 'ünïcode', () => 7])()
const payloads = [undefined, null, 0, 'x', { n: 12_345 }, [1, 2, 3], { a: { b: [true, false] } }, new Uint8Array([1, 2, 3])]

function message(): Uint8Array {
  const parts: unknown[] = [kinds(), pick(ids), names(), pick(payloads), pick([undefined, undefined, { trace: 'abc' }, 'not a map'])]
  while (parts.length > 1 && parts[parts.length - 1] === undefined && random() < 0.7) parts.pop()
  return packr.pack(parts.slice(0, 1 + Math.floor(random() * parts.length)))
}

function mutated(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes)
  if (random() < 0.3) return out.subarray(0, Math.floor(random() * out.length))
  out[Math.floor(random() * out.length)] = Math.floor(random() * 256)
  return random() < 0.2 ? Uint8Array.of(...out, Math.floor(random() * 256)) : out
}

describe('codec-msgpack: the envelope reader agrees with the full path', () => {
  it('on 10,000 generated messages and as many cut short or with a byte changed', () => {
    const codec = createMsgpackCodec()
    let frames = 0
    for (let i = 0; i < 10_000; i++) {
      const bytes = message()
      for (const candidate of [bytes, mutated(bytes)]) {
        const got = codec.decode(candidate)
        const want = fullPath(candidate)
        if (got.ok) {
          frames++
          expect(want, Buffer.from(candidate).toString('hex')).toEqual(got)
        } else {
          // Refused: the full path refuses it too, or the scanner does (what msgpackr would read, such as an extension, the protocol does not carry).
          const refused = want === 'throws' || !want.ok || !scanner.scan(candidate, candidate.length)
          expect(refused, Buffer.from(candidate).toString('hex')).toBe(true)
        }
      }
    }
    expect(frames).toBeGreaterThan(5_000)
  })

  it('gives the same event frame, with the same strings, from one message to the next', () => {
    const codec = createMsgpackCodec()
    const bytes = packr.pack(['events.emit', null, 'tick', { n: 1 }])
    const a = codec.decode(bytes)
    const b = codec.decode(Buffer.from(bytes))
    expect(a).toEqual({ ok: true, frame: { kind: 'events.emit', name: 'tick', payload: { n: 1 } } })
    expect(b).toEqual(a)
    expect(Object.keys((b as { frame: object }).frame)).toEqual(['kind', 'name', 'payload'])
  })
})

describe('codec-msgpack: the envelope writer agrees with msgpackr', () => {
  it('writes 10,000 generated frames byte for byte as msgpackr writes their array', () => {
    const codec = createMsgpackCodec()
    let written = 0
    for (let i = 0; i < 10_000; i++) {
      const frame = { kind: kinds(), id: pick(ids), name: names(), payload: pick(payloads.filter((p) => p !== undefined)) } as Frame
      let want: string
      try {
        want = Buffer.from(packr.pack([frame.kind, frame.id ?? null, frame.name ?? null, frame.payload])).toString('hex')
      } catch {
        want = 'throws'
      }
      let got: string
      try {
        got = Buffer.from(codec.encode(frame)).toString('hex')
        written++
      } catch {
        got = 'throws'
      }
      expect(got, JSON.stringify(frame)).toBe(want)
    }
    expect(written).toBeGreaterThan(9_000)
  })
})

describe('codec-msgpack: the string table', () => {
  it('returns each string right when many share its slots, and holds a fixed number', () => {
    const table = new StringTable()
    const words = Array.from({ length: 2_000 }, (_, i) => `w${i.toString(36)}`)
    // One reused buffer, as the codec's scratch: the table must keep copies, not views.
    const scratch = Buffer.alloc(64)
    for (let round = 0; round < 3; round++) {
      for (const word of words) {
        scratch.write(`..${word}`)
        expect(table.get(scratch, 2, word.length)).toBe(word)
      }
    }
    expect(table.get(Buffer.from('héllo'), 0, 6)).toBeUndefined() // not ASCII: left to msgpackr
  })
})
