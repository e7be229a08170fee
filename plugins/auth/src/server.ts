/**
 * The server side: `authenticate` in a `connect` tap (Stage.FIRST, so no other plugin's connect
 * tap and no app handler ever runs for a refused peer), failure throttling per address, and one
 * tap on the kernel's `authorize` hook that runs every configured check.
 */
import { EchoError, ErrorCodes, messageOf, type Action, type Logger, type Session } from '@echostream/kernel'
import { addressOf } from './address.js'
import { authErrors, describeIdentity } from './errors.js'
import type { Authenticate, Authorize, AuthOptions } from './options.js'
import { compileRules, describeRoles } from './rules.js'
import { FailureThrottle } from './throttle.js'

export const IDENTITY_KEY = 'auth'

/** Timers the plugin holds (refusal delays, authenticate timeouts), released on dispose. */
export class Timers {
  #pending = new Map<ReturnType<typeof setTimeout>, () => void>()

  /** Resolves after `ms`, or at once when the plugin is disposed. */
  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(timer)
        resolve()
      }, ms)
      timer.unref?.()
      this.#pending.set(timer, resolve)
    })
  }

  /** Settles like `promise`, or rejects with `onTimeout()` after `ms`. */
  race<T>(promise: Promise<T>, ms: number, onTimeout: () => unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(timer)
        reject(onTimeout())
      }, ms)
      timer.unref?.()
      const settle = () => {
        clearTimeout(timer)
        this.#pending.delete(timer)
      }
      this.#pending.set(timer, () => reject(onTimeout()))
      promise.then(
        (value) => (settle(), resolve(value)),
        (error) => (settle(), reject(error)),
      )
    })
  }

  clear(): void {
    for (const [timer, release] of this.#pending) {
      clearTimeout(timer)
      release()
    }
    this.#pending.clear()
  }
}

const TIMED_OUT = Symbol('timed out')

export interface ServerAuth {
  authenticate: Authenticate | undefined
  /** Every authorize check, in order: rules, options/module function, then ones added in code. */
  checks: Authorize[]
  throttle: FailureThrottle | undefined
  onConnect(session: Session): Promise<void>
  /** A login by call: the same checks as the handshake; the identity replaces the session's. */
  login(session: Session, credentials: unknown): Promise<unknown>
  onAuthorize(action: Action, session: Session): EchoError | undefined
}

export function createServerAuth(options: Readonly<AuthOptions>, logger: Logger, timers: Timers): ServerAuth {
  const { enabled, ...throttleOptions } = options.throttle
  const throttle = enabled ? new FailureThrottle(throttleOptions) : undefined

  /** Counts a failure against the address: holds the refusal, or turns it into a ban. */
  async function failed(address: string, error: EchoError): Promise<EchoError> {
    if (!throttle) return error
    const { delayMs, bannedForMs, failures } = throttle.fail(address)
    if (bannedForMs > 0) {
      logger.warn(`auth: ${address} banned for ${bannedForMs} ms after ${failures} failed authentications`)
      return authErrors.bannedNow(error.message, failures, address, bannedForMs)
    }
    await timers.sleep(delayMs)
    return error
  }

  async function authenticate(fn: Authenticate, credentials: unknown, session: Session): Promise<unknown> {
    const call = (async () => fn(credentials, session))()
    return timers.race(call, options.authenticateTimeoutMs, () => TIMED_OUT)
  }

  /**
   * Bans, `authenticate`, its timeout and failure counting: the one path for the handshake and for
   * a login by call, so a form posting guesses through an RPC is throttled exactly as a handshake.
   */
  async function check(credentials: unknown, session: Session): Promise<unknown> {
    const address = addressOf(session.peer)
    const bannedFor = throttle?.bannedFor(address) ?? 0
    if (bannedFor > 0) throw authErrors.stillBanned(address, bannedFor)
    const fn = auth.authenticate
    if (!fn) throw authErrors.notReady()
    let identity: unknown
    try {
      identity = await authenticate(fn, credentials, session)
    } catch (error) {
      if (error === TIMED_OUT) {
        logger.error(`auth: authenticate did not settle within ${options.authenticateTimeoutMs} ms (peer ${session.peer})`)
        throw authErrors.timedOut()
      }
      if (EchoError.is(error) && error.code === ErrorCodes.E_UNAUTHORIZED) throw await failed(address, authErrors.refusedWith(error.message))
      // An unexpected failure (a database down…) is the server's problem: not counted against the
      // peer, and its message stays in the server's log rather than reaching the peer.
      logger.error(`auth: authenticate threw for peer ${session.peer}: ${messageOf(error)}`)
      throw authErrors.checkFailed()
    }
    if (identity === false || identity === null || identity === undefined) {
      throw await failed(address, authErrors.refused())
    }
    return identity
  }

  const auth: ServerAuth = {
    authenticate: undefined,
    checks: [],
    throttle,

    async onConnect(session) {
      const credentials = session.handshake.auth
      // The handshake stays readable for the session's life: don't keep a secret in it.
      delete (session.handshake as Record<string, unknown>).auth
      if (credentials === undefined || credentials === null) {
        const address = addressOf(session.peer)
        const bannedFor = throttle?.bannedFor(address) ?? 0
        if (bannedFor > 0) throw authErrors.stillBanned(address, bannedFor)
        if (!options.required) return
        throw await failed(address, authErrors.missing())
      }
      session.data.set(IDENTITY_KEY, await check(credentials, session))
    },

    async login(session, credentials) {
      if (credentials === undefined || credentials === null) throw authErrors.missing()
      const identity = await check(credentials, session)
      session.data.set(IDENTITY_KEY, identity)
      return identity
    },

    onAuthorize(action, session) {
      for (const check of auth.checks) {
        let verdict: ReturnType<Authorize>
        try {
          verdict = check(action, session)
        } catch (error) {
          if (EchoError.is(error)) return error
          logger.error(`auth: an authorize check threw for ${action.kind} '${action.name}': ${messageOf(error)}`)
          return authErrors.authorizeFailed(action)
        }
        if (verdict === false) {
          return authErrors.forbidden(describeIdentity(session.data.get(IDENTITY_KEY)), action)
        }
        if (EchoError.is(verdict)) return verdict
      }
      return undefined
    },
  }
  if (options.rules) auth.checks.push(rulesCheck(options.rules))
  return auth
}

function rulesCheck(rules: NonNullable<AuthOptions['rules']>): Authorize {
  const compiled = compileRules(rules)
  return function authorizeByRules(action, session) {
    const roles = compiled.rolesOf(session.data.get(IDENTITY_KEY))
    if (compiled.allows(roles, action)) return true
    const fix = roles.length
      ? `use an account whose role allows it, or have the server's options.auth.rules.roles.${roles[0]} include '${action.kind}:${action.name}'`
      : `authenticate with an identity whose '${rules.roleOf}' names one of: ${Object.keys(rules.roles).join(', ') || '(no roles are configured)'}`
    return authErrors.forbiddenByRules(describeRoles(roles), action, fix)
  }
}
