/** `${VAR}`, `${VAR:-default}` and `${VAR:?message}` in config values (src/env.ts). */
import { describe, expect, it } from 'vitest'
import { substituteEnv } from '../../src/env.js'
import { EchoError } from '@echostream/kernel'

const env = { HOST: 'example.org', PORT: '5000', EMPTY: '', FLAG: 'true', RATIO: '0.5', NEG: '-3' }

describe('substituteEnv', () => {
  it('replaces set variables inside strings, anywhere in plain data', () => {
    const out = substituteEnv({ url: 'ws://${HOST}:${PORT}/x', list: ['${HOST}', 'plain'], nested: { deep: { v: 'at ${HOST}' } } }, 'config', env)
    expect(out).toEqual({ url: 'ws://example.org:5000/x', list: ['example.org', 'plain'], nested: { deep: { v: 'at example.org' } } })
  })

  it('uses the default when a variable is unset or empty', () => {
    expect(substituteEnv({ a: '${NOPE:-fallback}', b: '${EMPTY:-fallback}', c: '${HOST:-fallback}', d: 'x${NOPE:-}y' }, 'config', env)).toEqual({
      a: 'fallback',
      b: 'fallback',
      c: 'example.org',
      d: 'xy',
    })
  })

  it('turns a value that is exactly one ${…} into a number or boolean when it reads as one', () => {
    expect(substituteEnv({ port: '${PORT}', dflt: '${NOPE:-8080}', flag: '${FLAG}', off: '${NOPE:-false}', ratio: '${RATIO}', neg: '${NEG}' }, 'config', env)).toEqual({
      port: 5000,
      dflt: 8080,
      flag: true,
      off: false,
      ratio: 0.5,
      neg: -3,
    })
    // …but not when it is part of a longer string, or not numeric.
    expect(substituteEnv({ a: 'p${PORT}', b: '${HOST}', c: '${NOPE:-1e3}' }, 'config', env)).toEqual({ a: 'p5000', b: 'example.org', c: '1e3' })
  })

  it('leaves strings without ${ and non-plain values alone', () => {
    class Thing {
      value = '${HOST}'
    }
    const thing = new Thing()
    const frozen = Object.freeze({ v: '${HOST}' })
    const buffer = Buffer.from('${HOST}')
    const fn = () => '${HOST}'
    const out = substituteEnv({ thing, frozen, buffer, fn, n: 1, nil: null, dollars: '$HOST and {HOST}' }, 'config', env)
    expect(out.thing).toBe(thing)
    expect(out.frozen).toBe(frozen)
    expect(out.buffer).toBe(buffer)
    expect(out.fn).toBe(fn)
    expect(out).toMatchObject({ n: 1, nil: null, dollars: '$HOST and {HOST}' })
  })

  it('does not change its input', () => {
    const input = { a: '${HOST}' }
    substituteEnv(input, 'config', env)
    expect(input).toEqual({ a: '${HOST}' })
  })

  it('reports every unset variable at once as E_CONFIG with its path and the fix', () => {
    let error: unknown
    try {
      substituteEnv({ options: { 'transport-ws': { port: '${MISSING_PORT}' } }, list: ['ok', '${ALSO_MISSING:?set it to the API key}'] }, 'echostream.config.json', env)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(EchoError)
    const { code, message, data } = error as EchoError
    expect(code).toBe('E_CONFIG')
    expect(message).toMatch(/^echostream\.config\.json: /)
    expect(message).toContain('options.transport-ws.port: environment variable MISSING_PORT is not set')
    expect(message).toContain('list[1]: environment variable ALSO_MISSING is not set (set it to the API key)')
    expect(message).toContain('${MISSING_PORT:-default}')
    expect((data as { problems: string[] }).problems).toHaveLength(2)
  })

  it('treats an empty variable as unset for ${VAR} and ${VAR:?}', () => {
    expect(() => substituteEnv({ a: '${EMPTY}' }, 'config', env)).toThrow(/EMPTY is not set/)
  })

  it('reads process.env by default', () => {
    process.env.ECHOSTREAM_TEST_ENV_VALUE = 'from-process'
    try {
      expect(substituteEnv({ a: '${ECHOSTREAM_TEST_ENV_VALUE}' })).toEqual({ a: 'from-process' })
    } finally {
      delete process.env.ECHOSTREAM_TEST_ENV_VALUE
    }
  })
})
