/**
 * Safe encoding: a cyclic, too deep, out-of-range BigInt, Symbol, function, Map, class instance or
 * hostile (throwing getter, Proxy) value gives an E_CODEC EchoError naming where it is and what to
 * do — never a hang, a stack overflow or another error type — and the documented conversions hold
 * (Date → ISO string; BigInt → int64; binary views → bin). Nothing encoded is ever an extension.
 */
import { describe, expect, it } from 'vitest'
import { EchoError, type Frame } from '@echostream/kernel'
import { createMsgpackCodec, DEFAULT_MAX_DEPTH } from '../../src/codec.js'
import { MAX_VALUES } from '../../src/prepare.js'

const codec = createMsgpackCodec()
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

function encodeError(frame: Frame): EchoError {
  let thrown: unknown
  try {
    codec.encode(frame)
  } catch (error) {
    thrown = error
  }
  if (thrown === undefined) throw new Error('expected encode to throw')
  expect(thrown).toBeInstanceOf(EchoError)
  expect((thrown as EchoError).code).toBe('E_CODEC')
  // The codec still works after every failure.
  expect(codec.decode(codec.encode({ kind: 'after', id: 1, payload: [1, 'two'] }))).toEqual({ ok: true, frame: { kind: 'after', id: 1, payload: [1, 'two'] } })
  return thrown as EchoError
}

function roundTrip(payload: unknown): unknown {
  const result = codec.decode(codec.encode({ kind: 'k', payload }))
  if (!result.ok) throw result.error
  return result.frame.payload
}

function nest(levels: number, leaf: unknown = 0): unknown {
  let value = leaf
  for (let i = 0; i < levels; i++) value = [value]
  return value
}

describe('codec-msgpack encode: cycles and depth', () => {
  it("a cyclic array in a payload's tail (what hung largeTail: a = [1, a]) → E_CODEC naming the cycle", () => {
    const a: unknown[] = [1]
    a.push(a)
    const error = encodeError({ kind: 'rpc.res', id: 1, payload: a })
    expect(error.message).toMatch(/contains itself \(a cycle\)/)
    expect(error.message).toMatch(/^Cannot encode the value at payload\[1\]\[1\]/)
    expect(error.message).toMatch(/levels down\) of a 'rpc\.res' frame:/)
  })

  it.each([
    { name: 'an object that contains itself', make: () => { const o: Record<string, unknown> = { a: 1 }; o.self = o; return o } },
    { name: 'a cycle through an array and an object', make: () => { const o: Record<string, unknown> = {}; o.list = [1, { o }]; return o } },
    { name: 'a cycle as the stream-chunk tail [seq, t, a]', make: () => { const a: unknown[] = [1, 2]; a.push(a); return [1, 2, a] } },
    { name: 'a null-prototype object in a cycle', make: () => { const o = Object.create(null) as Record<string, unknown>; o.o = o; return o } },
  ])('$name → E_CODEC', ({ make }) => {
    expect(encodeError({ kind: 'k', payload: make() }).message).toMatch(/a cycle/)
  })

  it('a cycle in meta → E_CODEC naming meta', () => {
    const meta: Record<string, unknown> = {}
    meta.again = meta
    expect(encodeError({ kind: 'k', payload: 1, meta }).message).toMatch(/^Cannot encode the value at meta\.again\.again/)
  })

  it('a 3,000-deep value → E_CODEC; a value exactly maxDepth deep encodes and decodes', () => {
    expect(encodeError({ kind: 'k', payload: nest(3000) }).message).toMatch(/deeper than 100 levels/)
    // The frame is level 1, so the payload may nest 99 levels.
    expect(roundTrip(nest(DEFAULT_MAX_DEPTH - 1))).toEqual(nest(DEFAULT_MAX_DEPTH - 1))
    encodeError({ kind: 'k', payload: nest(DEFAULT_MAX_DEPTH) })
    const shallow = createMsgpackCodec({ maxDepth: 8 })
    expect(() => shallow.encode({ kind: 'k', payload: nest(8) })).toThrow(/deeper than 8 levels/)
    expect(shallow.decode(shallow.encode({ kind: 'k', payload: nest(7) })).ok).toBe(true)
  })

  it('a value shared (not cyclic) is written once per reference', () => {
    const shared = { x: 1 }
    expect(roundTrip([shared, shared, { shared }])).toEqual([{ x: 1 }, { x: 1 }, { shared: { x: 1 } }])
  })

  it(`a frame of more than ${MAX_VALUES} values (a sparse array, an exponential DAG) → E_CODEC before any work`, () => {
    expect(encodeError({ kind: 'k', payload: new Array(2 ** 30) }).message).toMatch(/more than 16777216 values/)
    let dag: unknown = [1]
    for (let i = 0; i < 60; i++) dag = [dag, dag]
    expect(encodeError({ kind: 'k', payload: dag }).message).toMatch(/shared many times/)
  })
})

describe('codec-msgpack encode: values the protocol does not carry', () => {
  class Point {
    constructor(
      readonly x: number,
      readonly y: number,
    ) {}
  }
  it.each([
    { name: 'a Symbol', payload: { a: [1, Symbol('s')] }, says: /^Cannot encode a Symbol at payload\.a\[1\]/ },
    { name: 'a function', payload: { onDone: function done() {} }, says: /^Cannot encode the function done at payload\.onDone/ },
    { name: 'an arrow function', payload: [() => 1], says: /^Cannot encode (a function|the function) at payload\[0\]/ },
    { name: 'a Map', payload: { m: new Map([[1, 2]]) }, says: /^Cannot encode a Map at payload\.m.*Object\.fromEntries/ },
    { name: 'a Set', payload: new Set([1]), says: /^Cannot encode a Set at payload of a 'k' frame:.*\[\.\.\.set\]/ },
    { name: 'an Error', payload: { e: new Error('x') }, says: /^Cannot encode an Error at payload\.e.*error\.message/ },
    { name: 'a RegExp', payload: /x/g, says: /^Cannot encode a RegExp at payload/ },
    { name: 'a Promise', payload: { p: Promise.resolve(1) }, says: /^Cannot encode a Promise at payload\.p/ },
    { name: 'a WeakMap', payload: { w: new WeakMap() }, says: /^Cannot encode a WeakMap/ },
    { name: 'a class instance without toJSON', payload: { at: new Point(1, 2) }, says: /^Cannot encode a Point instance at payload\.at.*toJSON\(\)/ },
    { name: 'a boxed string', payload: [new String('s')], says: /^Cannot encode a String instance at payload\[0\]/ },
    { name: 'a key with odd characters in the path', payload: { 'a b': { 'c"d': Symbol('x') } }, says: /payload\["a b"\]\["c\\"d"\]/ },
  ])('$name → E_CODEC with its path and what to do', ({ payload, says }) => {
    const error = encodeError({ kind: 'k', payload })
    expect(error.message).toMatch(says)
    expect(error.message).toMatch(/plain data only/)
  })

  it.each([
    { name: 'beyond uint64', value: 2n ** 64n },
    { name: 'below int64', value: -(2n ** 63n) - 1n },
  ])('a BigInt $name → E_CODEC saying to send a string', ({ value }) => {
    expect(encodeError({ kind: 'k', payload: { n: value } }).message).toMatch(/^Cannot encode the BigInt at payload\.n.*value\.toString\(\)/)
  })

  it('a getter that throws, a Proxy whose traps throw, a toJSON that throws → E_CODEC, never their own error', () => {
    const getter = {
      get x() {
        throw new TypeError('boom')
      },
    }
    expect(encodeError({ kind: 'k', payload: getter }).message).toMatch(/boom/)
    const trap = () => {
      throw new Error('trap')
    }
    const proxy = new Proxy({}, { getPrototypeOf: trap, ownKeys: trap, get: trap, has: trap })
    encodeError({ kind: 'k', payload: { proxy } })
    const revocable = Proxy.revocable({}, {})
    revocable.revoke()
    encodeError({ kind: 'k', payload: revocable.proxy })
    // An Error whose message getter throws, thrown from toJSON.
    const nasty = Object.create(Error.prototype, {
      message: {
        get() {
          throw new Error('no message')
        },
      },
    })
    const error = encodeError({
      kind: 'k',
      payload: {
        toJSONThrows: new (class {
          toJSON() {
            throw nasty
          }
        })(),
      },
    })
    expect(error.message).toMatch(/its message cannot be read/)
  })

  it('a frame object whose own getters throw → E_CODEC', () => {
    const frame = {
      kind: 'k',
      get payload(): unknown {
        throw new Error('payload getter')
      },
    }
    expect(encodeError(frame).message).toMatch(/payload getter/)
  })

  it('a value that turns cyclic between the check and the write (a getter) → E_CODEC, not a stack overflow', () => {
    const cyclic: unknown[] = []
    cyclic.push(cyclic)
    let reads = 0
    const sneaky = {
      get x() {
        return reads++ === 0 ? 1 : cyclic
      },
    }
    expect(encodeError({ kind: 'k', payload: sneaky }).message).toMatch(/nested too deeply, or changed while it was read/)
  })

  it('a toJSON that returns another object with a toJSON, forever → E_CODEC (bounded)', () => {
    class Forever {
      toJSON(): Forever {
        return new Forever()
      }
    }
    expect(encodeError({ kind: 'k', payload: new Forever() }).message).toMatch(/deeper than 100 levels/)
  })
})

describe('codec-msgpack encode: documented conversions', () => {
  it('a Date goes out as its ISO 8601 string (never a timestamp extension), an invalid Date as nil', () => {
    const date = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678))
    const bytes = codec.encode({ kind: 'k', payload: date })
    // [k, nil, nil, fixstr(24) "2024-01-02T03:04:05.678Z"]
    expect(hex(bytes)).toBe(`94a16bc0c0b8${Buffer.from('2024-01-02T03:04:05.678Z').toString('hex')}`)
    expect(roundTrip({ at: date, list: [date], bad: new Date(Number.NaN) })).toEqual({ at: '2024-01-02T03:04:05.678Z', list: ['2024-01-02T03:04:05.678Z'], bad: null })
    const meta = codec.decode(codec.encode({ kind: 'k', meta: { sent: date } }))
    expect(meta.ok && meta.frame.meta).toEqual({ sent: '2024-01-02T03:04:05.678Z' })
  })

  it('the caller’s value is not changed by a conversion', () => {
    const date = new Date(0)
    const payload = { date, list: [date, new Float32Array([1])] }
    codec.encode({ kind: 'k', payload })
    expect(payload.date).toBe(date)
    expect(payload.list[0]).toBe(date)
    expect(payload.list[1]).toBeInstanceOf(Float32Array)
  })

  it('any class with toJSON() goes out as what it returns (URL, a Decimal-like class)', () => {
    class Money {
      constructor(readonly cents: number) {}
      toJSON() {
        return { cents: this.cents, currency: 'EUR' }
      }
    }
    expect(roundTrip([new URL('https://example.test/a?b=1'), new Money(150)])).toEqual(['https://example.test/a?b=1', { cents: 150, currency: 'EUR' }])
  })

  it('a BigInt within 64 bits goes out as int64/uint64 (decoded as BigInt with bigint: true)', () => {
    expect(hex(codec.encode({ kind: 'k', payload: -5n }))).toBe('94a16bc0c0d3fffffffffffffffb')
    expect(hex(codec.encode({ kind: 'k', payload: 2n ** 64n - 1n }))).toBe('94a16bc0c0cfffffffffffffffff')
    const big = createMsgpackCodec({ bigint: true })
    const result = big.decode(big.encode({ kind: 'k', payload: [2n ** 60n, -(2n ** 63n)] }))
    expect(result.ok && result.frame.payload).toEqual([2n ** 60n, -(2n ** 63n)])
  })

  it('a null-prototype object and an object from another realm go out as maps', async () => {
    const bare = Object.create(null) as Record<string, unknown>
    bare.a = 1
    const { runInNewContext } = await import('node:vm')
    const foreign = runInNewContext('({ b: [2] })') as unknown
    expect(roundTrip({ bare, foreign })).toEqual({ bare: { a: 1 }, foreign: { b: [2] } })
  })

  it("a peer's map with 'constructor' and 'toJSON' keys echoes back unchanged", () => {
    const decoded = codec.decode(Buffer.from('94a16bc0c082ab636f6e7374727563746f7201a6746f4a534f4e02', 'hex'))
    expect(decoded.ok).toBe(true)
    const payload = decoded.ok ? decoded.frame.payload : undefined
    expect(payload).toEqual({ constructor: 1, toJSON: 2 })
    expect(roundTrip(payload)).toEqual({ constructor: 1, toJSON: 2 })
  })

  it("an own '__proto__' key survives a converted copy and pollutes nothing", () => {
    const payload = JSON.parse('{"__proto__": {"polluted": true}, "n": 1}') as Record<string, unknown>
    payload.when = new Date(0)
    const out = roundTrip(payload) as Record<string, unknown>
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(out.when).toBe('1970-01-01T00:00:00.000Z')
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
  })

  it('never writes an extension type, whatever it is given', () => {
    const values: unknown[] = [new Date(), [new Date(0)], { d: new Date(8.64e15) }, new Uint16Array([1, 2]), new DataView(new ArrayBuffer(3)), new ArrayBuffer(2), new SharedArrayBuffer(2), 1n, undefined, Number.NaN, -0, Number.POSITIVE_INFINITY]
    for (const payload of values) {
      const bytes = codec.encode({ kind: 'k', payload, meta: { payload } })
      const result = codec.decode(bytes)
      expect(result.ok, `${String(payload)} → ${hex(bytes)}`).toBe(true)
    }
  })

  it('a stream chunk [seq, wallTime, large binary] is assembled as msgpackr would write it', () => {
    const data = new Uint8Array(70_000).map((_, i) => i % 253)
    const chunk = [7, 123456789, data]
    const bytes = codec.encode({ kind: 'stream.data', id: 3, payload: chunk })
    const result = codec.decode(bytes)
    expect(result.ok).toBe(true)
    const out = (result.ok ? result.frame.payload : []) as [number, number, Uint8Array]
    expect(out[0]).toBe(7)
    expect(out[1]).toBe(123456789)
    expect(Buffer.from(out[2]).equals(Buffer.from(data))).toBe(true)
    expect(chunk[2]).toBe(data)
  })
})
