/**
 * Static credentials (`options.tokens`): a list of `{ token, identity }` checked before any
 * authenticate function, so a config file — JSON or YAML too, where no function can be written —
 * can admit an operator or a service by token. Compared in constant time: every entry, every
 * character, whatever matches, so the time a guess takes does not tell how close it was.
 */
import { authErrors } from './errors.js'

/** Tokens longer than this are refused unread (the schema's maxLength): a peer's huge string costs nothing. */
export const MAX_TOKEN_LENGTH = 4096

/**
 * True when `given` is the string `expected`, in time that depends only on the longer of the two
 * lengths (and `given`'s is the peer's own): no early exit on the first differing character.
 */
export function safeEqual(given: unknown, expected: string): boolean {
  if (typeof given !== 'string' || given.length > MAX_TOKEN_LENGTH) return false
  let diff = given.length ^ expected.length
  const length = Math.max(given.length, expected.length)
  // charCodeAt past the end is NaN, and NaN | 0 is 0: the shorter string reads as zeros
  for (let i = 0; i < length; i++) diff |= (given.charCodeAt(i) | 0) ^ (expected.charCodeAt(i) | 0)
  return diff === 0
}

export interface TokenEntry {
  token: string
  identity?: unknown
}

/** The identity of the entry whose token `credentials` is, or `false`; every entry is compared. */
export function tokenAuthenticator(entries: readonly TokenEntry[], from: string): (credentials: unknown) => unknown {
  entries.forEach((entry, index) => {
    if (entry.identity === undefined || entry.identity === null || entry.identity === false) throw authErrors.tokenWithoutIdentity(`${from}[${index}]`)
  })
  const list = entries.map((entry) => ({ token: entry.token, identity: entry.identity }))
  return (credentials) => {
    let found: unknown = false
    for (const entry of list) if (safeEqual(credentials, entry.token) && found === false) found = entry.identity
    return found
  }
}
