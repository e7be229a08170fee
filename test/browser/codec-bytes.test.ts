/**
 * The browser codec (plugins/codec-msgpack/src/browser) must put the same bytes on the wire as the
 * Node codec (msgpackr): every frame of a corpus that covers each plugin's frames and the value
 * types MessagePack and msgpackr distinguish is encoded by both and compared byte for byte (or
 * refused by both with the same E_CODEC: a function, Set, Map, Error, class instance…), and
 * each side decodes the other's bytes to the same frame. Hostile bytes never throw.
 */
import { describe, expect, it } from 'vitest'
import type { Frame } from '@echostream/kernel'
import { createMsgpackCodec as nodeCodec } from '@echostream/plugin-codec-msgpack'
import { createMsgpackCodec as browserCodec } from '../../plugins/codec-msgpack/src/browser/index.js'

const bytes = (n: number, seed = 7) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
}

const values: unknown[] = [
  0, 1, 31, 32, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 53, 2 ** 64, 1e300,
  -1, -31, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 40), -0, 0.5, -1.25, Math.PI, NaN, Infinity, -Infinity,
  1.7e15 + 0.25, Date.now() * 1000,
  '', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(63), 'x'.repeat(64), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(70000),
  'héllo wörld', '日本語のテキスト', '😀 emoji 🎉', 'é'.repeat(20), 'é'.repeat(40), '日'.repeat(90), '€'.repeat(30000), 'a\u0000b',
  true, false, null, undefined,
  bytes(0), bytes(1), bytes(255), bytes(256), bytes(65535), bytes(65536), bytes(5000),
  new Uint16Array([1, 2, 3]), new DataView(bytes(8).buffer), bytes(16).subarray(4, 9),
  [], [1, 2, 3], Array.from({ length: 15 }, (_, i) => i), Array.from({ length: 16 }, (_, i) => i), Array.from({ length: 70000 }, (_, i) => i & 7),
  {}, { a: 1 }, { a: { b: { c: [1, { d: 'e' }] } } }, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
  { undef: undefined, fn() {}, nil: null },
  Object.assign(Object.create(null), { bare: true }),
  new Map<unknown, unknown>([['a', 1], [2, 'b']]), new Map(Array.from({ length: 20 }, (_, i) => [i, i])),
  new Set([1, 'two', 3]), new Date(0), new Date(1_700_000_000_000), new Date(1_700_000_000_123), new Date(-1000), new Date(NaN),
  new Error('boom'), /ab+c/gi, new Point(1, 2), { toJSON: () => 'plain objects keep toJSON as a key' }, { when: new Date(5000) },
  123n, -(2n ** 40n), 2n ** 63n,
]

const frames: Frame[] = [
  { kind: 'hello', payload: { protocol: 2, codec: 'msgpack', plugins: { rpc: 1, events: 1, reconnect: 1 }, limits: { maxPayload: 1048576 } } },
  { kind: 'welcome', payload: { sessionId: 'AbC123_-xyz', protocol: 2, plugins: { rpc: 1 }, limits: { maxPayload: 1048576, pingIntervalMs: 25000, pingTimeoutMs: 20000 }, resume: { token: 't'.repeat(43), graceMs: 120000 } } },
  { kind: 'error', id: 3, payload: { code: 'E_PROTOCOL', message: 'bad', re: 'rpc.req' } },
  { kind: 'rpc.req', id: 1, name: 'math.add', payload: { a: 1, b: 2 } },
  { kind: 'rpc.req', id: 70000, name: 'x', payload: undefined, meta: { timeoutMs: 5000 } },
  { kind: 'rpc.res', id: 1, payload: 3 },
  { kind: 'rpc.res', id: 2 },
  { kind: 'rpc.err', id: 1, payload: { code: 'E_DIVIDE_BY_ZERO', message: 'Cannot divide by zero.', data: { a: 1 }, retryable: true } },
  { kind: 'rpc.cancel', id: 9 },
  { kind: 'events.emit', name: 'tick', payload: { n: 1 } },
  { kind: 'events.emit', name: 'empty' },
  { kind: 'stream.open', id: 1, name: 'audio', payload: { meta: { rate: 48000 } } },
  { kind: 'stream.accept', id: 1, payload: 65536 },
  { kind: 'stream.data', id: 1, payload: [0, 1_733_000_000_123_456.5, bytes(960)] },
  { kind: 'stream.data', id: 3, payload: [123456, 1_733_000_000_000_000, bytes(64 * 1024)] },
  { kind: 'stream.credit', id: 1, payload: 2 ** 33 },
  { kind: 'stream.conncredit', payload: 1048576 },
  { kind: 'stream.end', id: 1 },
  { kind: 'clock.ping', id: 4, payload: 1_733_000_000_123_456.789 },
  { kind: 'clock.pong', id: 4, payload: [1_733_000_000_123_456.789, 1_733_000_000_123_556.5, 1_733_000_000_123_560] },
  { kind: 'reconnect.ack', payload: 1024 },
  { kind: 'bare' },
  ...values.map((payload, i): Frame => ({ kind: 'events.emit', id: i, name: `value-${i}`, payload })),
  ...values.map((value, i): Frame => ({ kind: 'x.meta', payload: [value], meta: { value, i } })),
]

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

describe('browser codec', () => {
  const node = nodeCodec()
  const browser = browserCodec()

  /** The bytes, or the refusal (codec-msgpack refuses what the protocol does not carry). */
  const outcome = (codec: typeof node, frame: Frame): string => {
    try {
      return hex(codec.encode(frame))
    } catch (error) {
      return `${(error as { code?: string }).code}: ${(error as Error).message}`
    }
  }

  it(`writes exactly the Node codec's bytes for ${frames.length} frames (or refuses the same ones)`, () => {
    const differing: string[] = []
    let written = 0
    for (const frame of frames) {
      const expected = outcome(node, frame)
      const actual = outcome(browser, frame)
      if (actual !== expected) differing.push(`${frame.kind} ${frame.name ?? ''}: node ${expected.slice(0, 80)} browser ${actual.slice(0, 80)}`)
      if (!expected.startsWith('E_')) written++
    }
    expect(differing).toEqual([])
    expect(written).toBeGreaterThan(frames.length * 0.8)
  })

  it('each decodes the bytes of the other to the same frame', () => {
    for (const frame of frames) {
      if (outcome(node, frame).startsWith('E_')) continue
      const encoded = node.encode(frame)
      const a = node.decode(encoded)
      const b = browser.decode(encoded)
      expect(b.ok, `${frame.kind} ${frame.name}`).toBe(a.ok)
      // Binary decodes as Buffer on Node and as Uint8Array in the browser codec: compare bytes.
      const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_, x) => (x instanceof Uint8Array ? `bin:${hex(x)}` : typeof x === 'bigint' ? `big:${x}` : x && x.type === 'Buffer' && Array.isArray(x.data) ? `bin:${hex(Uint8Array.from(x.data))}` : x)))
      if (a.ok && b.ok) expect(plain(b.frame), `${frame.kind} ${frame.name}`).toEqual(plain(a.frame))
    }
  })

  it('turns hostile bytes into E_CODEC / E_PROTOCOL, never a throw', () => {
    const samples: Uint8Array[] = [
      new Uint8Array([]),
      new Uint8Array([0xc1]),
      new Uint8Array([0x93, 0xc1, 0x00, 0x00]),
      new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]), // array of 4 billion in 5 bytes
      new Uint8Array([0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1]),
      new Uint8Array([0xc6, 0x7f, 0xff, 0xff, 0xff, 0x00]),
      new Uint8Array([0x92, 0xa1, 0x61]), // truncated
      new Uint8Array([0x91, 0xa1, 0x61, 0x00]), // bytes after the value
      new Uint8Array([0xd4, 0x05, 0x00]), // unknown extension
      new Uint8Array([0x81, 0x90, 0x00]), // array as a map key
      new Uint8Array(100_000).fill(0x91), // deep nesting
    ]
    let seed = 1
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
    for (let i = 0; i < 2000; i++) samples.push(Uint8Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * 256)))
    // Truncations of valid frames.
    for (const frame of frames.slice(0, 30)) {
      const full = node.encode(frame)
      for (let cut = 0; cut < Math.min(full.byteLength, 40); cut++) samples.push(full.subarray(0, cut))
    }
    for (const sample of samples) {
      const result = browser.decode(sample)
      if (!result.ok) expect(['E_CODEC', 'E_PROTOCOL']).toContain(result.error.code)
    }
    expect(browser.decode(new Uint8Array([0xc1]))).toMatchObject({ ok: false, error: { code: 'E_CODEC' } })
    expect(browser.decode(new Uint8Array([0x91, 0x01]))).toMatchObject({ ok: false, error: { code: 'E_PROTOCOL' } })
    const proto = browser.decode(node.encode({ kind: 'x', payload: JSON.parse('{"__proto__": {"polluted": 1}}') }))
    expect(proto.ok).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(proto.ok && Object.keys(proto.frame.payload as object)).toEqual(['__proto_'])
  })
})
