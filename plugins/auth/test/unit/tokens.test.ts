/** Static tokens: the constant-time comparison and the lookup that compares every entry. */
import { describe, expect, it } from 'vitest'
import { EchoError } from '@echostream/kernel'
import { MAX_TOKEN_LENGTH, safeEqual, tokenAuthenticator } from '../../src/tokens.js'

describe('safeEqual', () => {
  it('is string equality, for strings only, up to the length limit', () => {
    expect(safeEqual('secret-token', 'secret-token')).toBe(true)
    expect(safeEqual('secret-tokem', 'secret-token')).toBe(false)
    expect(safeEqual('secret-toke', 'secret-token')).toBe(false)
    expect(safeEqual('secret-token!', 'secret-token')).toBe(false)
    expect(safeEqual('', 'secret-token')).toBe(false)
    expect(safeEqual('secret-token\u0000', 'secret-token')).toBe(false) // NaN | 0 past the end is 0: lengths still differ
    expect(safeEqual({ toString: () => 'secret-token' }, 'secret-token')).toBe(false)
    expect(safeEqual(['secret-token'], 'secret-token')).toBe(false)
    const long = 'x'.repeat(MAX_TOKEN_LENGTH + 1)
    expect(safeEqual(long, long)).toBe(false)
  })
})

describe('tokenAuthenticator', () => {
  it('gives the identity of the matching entry, false otherwise; entries need an identity', () => {
    const lookup = tokenAuthenticator(
      [
        { token: 'token-of-ops', identity: { id: 'ops', role: 'admin' } },
        { token: 'token-of-ingest', identity: 'ingest' },
      ],
      'tokens',
    )
    expect(lookup('token-of-ops')).toEqual({ id: 'ops', role: 'admin' })
    expect(lookup('token-of-ingest')).toBe('ingest')
    expect(lookup('token-of-nobody')).toBe(false)
    expect(lookup(undefined)).toBe(false)
    for (const identity of [null, false, undefined]) {
      const error = (() => {
        try {
          tokenAuthenticator([{ token: 'a-long-token', identity }], "options['auth'].tokens")
        } catch (e) {
          return e as EchoError
        }
      })()
      expect(error?.code).toBe('E_CONFIG')
      expect(error?.message).toContain("options['auth'].tokens[0].identity is missing")
    }
  })
})
