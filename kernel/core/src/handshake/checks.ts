/** What both handshake strategies check and make: payload shapes, session ids. */
import { describe } from '../describe.js'
import { MAX_PEER_PAYLOAD } from '../session.js'
import type { HelloPayload, WelcomePayload } from '../frame.js'

function isCount(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min
}

/**
 * The smallest maxPayload a peer may announce. Below it a session is useless and silent: the
 * server could not even send the error frame that says why a call failed (the fuzz test found
 * peers announcing 1–200 bytes whose calls were never answered). 1 KiB holds any kernel error
 * frame with room to spare.
 */
export const MIN_MAX_PAYLOAD = 1024

/** A peer's announced maxPayload as the kernel keeps it. */
export function peerPayload(announced: number): number {
  return Math.min(Math.floor(announced), MAX_PEER_PAYLOAD)
}

/** What is wrong with a v2 `hello` besides its version, if anything. */
export function helloProblem(hello: HelloPayload): string | undefined {
  if (typeof hello.codec !== 'string') return `'codec' is ${describe(hello.codec)}, not a string`
  if (typeof hello.plugins !== 'object' || hello.plugins === null || Array.isArray(hello.plugins)) return `'plugins' is ${describe(hello.plugins)}, not a map of name → wire version`
  const limits = hello.limits as unknown as Record<string, unknown> | undefined
  if (typeof limits !== 'object' || limits === null) return `'limits' is ${describe(limits)}, not { maxPayload }`
  if (!isCount(limits.maxPayload, MIN_MAX_PAYLOAD)) return `'limits.maxPayload' is ${describe(limits.maxPayload)}, not a number of bytes ≥ ${MIN_MAX_PAYLOAD}`
  return undefined
}

/** What is wrong with a `welcome`, if anything. */
export function welcomeProblem(welcome: WelcomePayload): string | undefined {
  const limits = welcome.limits as unknown as Record<string, unknown> | undefined
  if (typeof limits !== 'object' || limits === null) return `'limits' is ${describe(limits)}, not { maxPayload, pingIntervalMs, pingTimeoutMs }`
  if (!isCount(limits.maxPayload, MIN_MAX_PAYLOAD)) return `'limits.maxPayload' is ${describe(limits.maxPayload)}, not a number of bytes ≥ ${MIN_MAX_PAYLOAD}`
  if (!isCount(limits.pingIntervalMs, 0) || !isCount(limits.pingTimeoutMs, 0)) return `'limits.pingIntervalMs' and 'pingTimeoutMs' must be numbers of milliseconds ≥ 0`
  return undefined
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** 16 characters of base64url over 96 random bits (Web Crypto: Node, browsers and workers alike). */
export function newSessionId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(12))
  let id = ''
  for (let i = 0; i < 12; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    id += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!
  }
  return id
}
