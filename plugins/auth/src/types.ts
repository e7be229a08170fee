/** The public API (`kernel.auth`) and the type augmentations of the kernel. */
import type { Session } from '@echostream/kernel'
import type { Authenticate, Authorize, Credentials } from './options.js'

/**
 * Augment to type identities everywhere (`server.auth.identity(session)`, `session.data.get('auth')`):
 * `declare module '@echostream/plugin-auth' { interface AuthRegistry { identity: { id: string; role: 'admin' | 'user' } } }`
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AuthRegistry {}

/** What `authenticate` returned for a session (typed through `AuthRegistry`). */
export type Identity = AuthRegistry extends { identity: infer I } ? I : unknown

export interface AuthApi {
  /**
   * Client: the credentials sent in the next handshake — a value, or a sync function read at each
   * handshake (fresh tokens on reconnect). Replaces `options.auth.credentials`.
   */
  setCredentials(credentials: Credentials | (() => Credentials)): void
  /** Server: sets the authenticate function (replaces the one from options or `module`). */
  authenticate(fn: Authenticate): void
  /** Server: adds an authorize check (every check must let an action through); returns its remover. */
  authorize(fn: Authorize): () => void
  /** Server: the identity `authenticate` returned for `session`; undefined for an anonymous one. */
  identity(session: Session): Identity | undefined
  /**
   * Server: a login by call (a web form posting to an RPC on an anonymous session, `required:
   * false`): runs `authenticate(credentials, session)` with the handshake's ban, throttle and
   * timeout, and on success makes its identity the session's (rules and authorize apply to the
   * session's next actions). Rejects with `E_UNAUTHORIZED` (`data.reason` as at the handshake).
   */
  login(session: Session, credentials: unknown): Promise<Identity>
  /** Server: the session goes back to anonymous (its identity is removed). */
  logout(session: Session): void
  /** Server: forgets the failures and ban of one IP address, or of every address. */
  resetFailures(address?: string): void
}

declare module '@echostream/kernel' {
  interface KernelApi {
    auth: AuthApi
  }
  interface SessionData {
    /** Set by @echostream/plugin-auth: the identity `authenticate` returned. */
    auth: Identity
  }
}
