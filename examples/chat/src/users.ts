/**
 * Accounts and tokens. Passwords are kept as scrypt hashes (the demo accounts are hashed at start);
 * a token is `user.expiry.hmac` signed with a secret every node shares (`CHAT_SECRET`), so any node
 * accepts a token another node issued without a shared session table.
 */
import { createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'
import { defineErrors } from '@echostream/kernel'

export const DEMO_USERS: Record<string, string> = { ada: 'lovelace', bob: 'builder', cy: 'cypher' }

export interface Identity {
  id: string
}

export class Accounts {
  readonly #hashes = new Map<string, { salt: Buffer; hash: Buffer }>()
  readonly #secret: Buffer
  readonly #tokenTtlMs: number

  constructor(users: Record<string, string>, secret: string, tokenTtlMs = 24 * 3600_000) {
    for (const [user, password] of Object.entries(users)) {
      const salt = randomBytes(16)
      this.#hashes.set(user, { salt, hash: scryptSync(password, salt, 32) })
    }
    this.#secret = Buffer.from(secret)
    this.#tokenTtlMs = tokenTtlMs
  }

  exists(user: string): boolean {
    return this.#hashes.has(user)
  }

  names(): string[] {
    return [...this.#hashes.keys()].sort()
  }

  /** The auth plugin's `authenticate`: `{ token }` or `{ user, password }`; false refuses. */
  authenticate = (credentials: unknown): Identity | false => {
    if (typeof credentials !== 'object' || credentials === null) return false
    const { token, user, password } = credentials as { token?: unknown; user?: unknown; password?: unknown }
    if (typeof token === 'string') return this.verify(token)
    if (typeof user !== 'string' || typeof password !== 'string') return false
    const entry = this.#hashes.get(user)
    if (!entry) return false
    return timingSafeEqual(scryptSync(password, entry.salt, 32), entry.hash) ? { id: user } : false
  }

  issue(user: string): string {
    const body = `${user}.${Date.now() + this.#tokenTtlMs}`
    return `${body}.${this.#sign(body)}`
  }

  verify(token: string): Identity | false {
    const at = token.lastIndexOf('.')
    if (at < 0 || token.length > 512) return false
    const body = token.slice(0, at)
    const given = Buffer.from(token.slice(at + 1))
    const expected = Buffer.from(this.#sign(body))
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false
    const [user, expires] = body.split('.')
    if (!user || !this.#hashes.has(user) || !(Number(expires) > Date.now())) return false
    return { id: user }
  }

  #sign(body: string): string {
    return createHmac('sha256', this.#secret).update(body).digest('base64url')
  }
}

/** The app's errors, one table (the shape of plugins/rpc/src/errors.ts). */
export const chatErrors = defineErrors({
  notMember: { code: 'E_NOT_MEMBER', message: (conv: string) => `You are not a member of '${conv}': open a direct conversation with a user that exists, or join the group first.` },
  noSuchUser: { code: 'E_NO_SUCH_USER', message: (user: string) => `There is no user '${user}': check the name (chat.who lists them).` },
  badInput: { code: 'E_INVALID_PAYLOAD', message: (what: string) => `${what}: see the chat README for the call's shape.` },
  noSuchFile: { code: 'E_NO_SUCH_FILE', message: (id: string) => `No file '${id}' in a conversation of yours: start the upload again with chat.file.begin.` },
  offset: { code: 'E_OFFSET', message: (given: number, actual: number) => `The upload must continue at byte ${actual}, not ${given}: ask chat.file.status and resume there.`, data: (_given: number, actual: number) => ({ offset: actual }) },
  checksum: { code: 'E_CHECKSUM', message: (id: string) => `File '${id}' did not match its sha256 after the upload and was discarded: upload it again.` },
})
