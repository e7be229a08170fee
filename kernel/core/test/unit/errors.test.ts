/**
 * The helpers every package uses on hostile or odd values: `describe` and `EchoError.from` must
 * never throw, whatever they are given; `defineErrors` builds coded errors even when a message
 * builder throws; `monotonicMicros` never goes backwards.
 */
import { describe as suite, expect, it } from 'vitest'
import { describe } from '../../src/describe.js'
import { defineErrors, EchoError, ErrorCodes, messageOf } from '../../src/errors.js'
import { monotonicMicros } from '../../src/clock.js'

function throwingProxy(target: object = {}): object {
  const fail = () => {
    throw new Error('trap')
  }
  return new Proxy(target, { get: fail, getPrototypeOf: fail, ownKeys: fail, has: fail, getOwnPropertyDescriptor: fail, apply: fail })
}

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

function errorWithThrowingMessage(): Error {
  const error = new Error('hidden')
  Object.defineProperty(error, 'message', {
    get() {
      throw new Error('getter')
    },
  })
  return error
}

function cyclic(): unknown {
  const a: unknown[] = [1]
  a.push(a)
  return a
}

function deep(levels: number): unknown {
  let value: unknown = 'bottom'
  for (let i = 0; i < levels; i++) value = { next: value }
  return value
}

/** Every odd value from issue 10 and more. */
const ODD: Array<[string, () => unknown]> = [
  ['Object.create(null)', () => Object.create(null)],
  ['Object.create(null) with fields', () => Object.assign(Object.create(null), { a: 1, b: 2 })],
  ['a Proxy whose traps throw', () => throwingProxy()],
  ['a function Proxy whose traps throw', () => throwingProxy(() => {})],
  ['a revoked Proxy', revokedProxy],
  ['an Error whose message getter throws', errorWithThrowingMessage],
  ['an Error subclass with no message', () => new TypeError()],
  ['a cyclic array', cyclic],
  ['a 3,000-deep value', () => deep(3000)],
  ['a BigInt', () => 10n ** 30n],
  ['a Symbol', () => Symbol('s')],
  ['a Symbol without description', () => Symbol()],
  ['undefined', () => undefined],
  ['null', () => null],
  ['a long string', () => 'x'.repeat(10_000)],
  ['a number', () => NaN],
  ['a Date', () => new Date(0)],
  ['an invalid Date', () => new Date(NaN)],
  ['binary', () => new Uint8Array(7)],
  ['a class instance with a throwing toString', () => new (class Weird { toString(): string { throw new Error('no') } })()],
  ['an object with a throwing constructor getter', () => Object.create(Object.defineProperty({}, 'constructor', { get() { throw new Error('ctor') } }))],
  ['a thenable', () => ({ then() {} })],
]

suite('describe(value)', () => {
  it.each(ODD)('describes %s without throwing', (_, make) => {
    const text = describe(make())
    expect(typeof text).toBe('string')
    expect(text.length).toBeGreaterThan(0)
    expect(text.length).toBeLessThan(300)
  })

  it('says what the value is', () => {
    expect(describe(Object.create(null))).toBe('an object with no prototype with no fields')
    expect(describe({ a: 1, b: 2 })).toBe('an object { a, b }')
    expect(describe([1, 2, 3])).toBe('an array of 3')
    expect(describe('hi')).toBe('the string "hi"')
    expect(describe(5n)).toBe('the bigint 5n')
    expect(describe(Symbol('x'))).toBe('the symbol "x"')
    expect(describe(new Uint8Array(4))).toBe('Uint8Array of 4 bytes')
    expect(describe(new RangeError('bad'))).toBe('RangeError: bad')
    expect(describe(throwingProxy())).toBe('an object that cannot be inspected')
    expect(describe(errorWithThrowingMessage())).toBe('Error (its message cannot be read)')
  })
})

suite('EchoError.from(value)', () => {
  it.each(ODD)('wraps %s into a coded EchoError without throwing', (_, make) => {
    const value = make()
    const error = EchoError.from(value, ErrorCodes.E_INTERNAL)
    expect(EchoError.is(error)).toBe(true)
    expect(error.code).toBe('E_INTERNAL')
    expect(typeof error.message).toBe('string')
    expect(error.message.length).toBeGreaterThan(0)
    expect(() => error.toWire()).not.toThrow()
    expect(typeof messageOf(value)).toBe('string')
  })

  it('keeps an EchoError, an Error message, and describes the rest', () => {
    const coded = new EchoError('E_X', 'x')
    expect(EchoError.from(coded)).toBe(coded)
    expect(EchoError.from(new Error('boom')).message).toBe('boom')
    expect(EchoError.from(new Error('boom'), 'E_PROTOCOL').code).toBe('E_PROTOCOL')
    expect(EchoError.from(Object.create(null)).message).toBe('a non-Error value was thrown: an object with no prototype with no fields')
    expect(EchoError.from(errorWithThrowingMessage()).message).toBe('Error (its message cannot be read)')
    expect(EchoError.is(throwingProxy())).toBe(false)
  })
})

suite('defineErrors(table)', () => {
  const errors = defineErrors({
    tooBig: {
      code: 'E_PAYLOAD_TOO_LARGE',
      message: (size: number, max: number) => `${size} bytes, over ${max}: send less.`,
      data: (size: number, max: number) => ({ size, max }),
    },
    retry: { code: 'E_BUSY', message: () => 'busy: retry later', retryable: true },
    fragile: { code: 'E_X', message: (value: { name: string }) => `bad ${value.name.toUpperCase()}` },
  })

  it('builds coded errors with data and retryable', () => {
    const error = errors.tooBig(5, 4)
    expect(error).toBeInstanceOf(EchoError)
    expect(error.toWire()).toEqual({ code: 'E_PAYLOAD_TOO_LARGE', message: '5 bytes, over 4: send less.', data: { size: 5, max: 4 } })
    expect(errors.retry().retryable).toBe(true)
  })

  it('still builds the coded error when the message builder throws', () => {
    const error = errors.fragile(throwingProxy() as { name: string })
    expect(error.code).toBe('E_X')
    expect(error.message).toMatch(/^E_X \(fragile\); its message could not be built/)
  })
})

suite('monotonicMicros()', () => {
  it('is epoch microseconds and never goes backwards', () => {
    const first = monotonicMicros()
    expect(Math.abs(first / 1000 - Date.now())).toBeLessThan(1000)
    let last = first
    for (let i = 0; i < 10_000; i++) {
      const now = monotonicMicros()
      expect(now).toBeGreaterThanOrEqual(last)
      last = now
    }
  })
})
