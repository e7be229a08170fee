/**
 * The server side: `authenticate` in a `connect` tap (Stage.FIRST, so no other plugin's connect
 * tap and no app handler ever runs for a refused peer), failure throttling per address, and one
 * tap on the kernel's `authorize` hook that runs every configured check.
 */
import { EchoError, ErrorCodes, type Action, type Logger, type Session } from '@echostream/kernel'
import { addressOf } from './address.js'
import { describeAction, describeIdentity, refusal } from './errors.js'
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
      return refusal('banned', `${error.message} That was failure ${failures} in a row from ${address}: it is now refused for ${seconds(bannedForMs)} without checking credentials; fix the credentials, then retry after that.`, { retryAfterMs: bannedForMs, retryable: true })
    }
    await timers.sleep(delayMs)
    return error
  }

  async function authenticate(fn: Authenticate, credentials: unknown, session: Session): Promise<unknown> {
    const call = (async () => fn(credentials, session))()
    return timers.race(call, options.authenticateTimeoutMs, () => TIMED_OUT)
  }

  const auth: ServerAuth = {
    authenticate: undefined,
    checks: [],
    throttle,

    async onConnect(session) {
      const address = addressOf(session.peer)
      const bannedFor = throttle?.bannedFor(address) ?? 0
      if (bannedFor > 0) {
        throw refusal('banned', `Too many failed authentications from ${address}: refused for another ${seconds(bannedFor)} without checking credentials. Fix the credentials, then retry after that.`, { retryAfterMs: bannedFor, retryable: true })
      }
      const credentials = session.handshake.auth
      // The handshake stays readable for the session's life: don't keep a secret in it.
      delete (session.handshake as Record<string, unknown>).auth
      if (credentials === undefined || credentials === null) {
        if (!options.required) return
        throw await failed(address, refusal('missing', "No credentials in the handshake, and this server requires them: load @echostream/plugin-auth on the client and set options.auth.credentials (e.g. '${TOKEN}') or call client.auth.setCredentials(token) before start()."))
      }
      const fn = auth.authenticate
      if (!fn) throw refusal('error', 'The server has no authenticate function yet: try again later.', { retryable: true })
      let identity: unknown
      try {
        identity = await authenticate(fn, credentials, session)
      } catch (error) {
        if (error === TIMED_OUT) {
          logger.error(`auth: authenticate did not settle within ${options.authenticateTimeoutMs} ms (peer ${session.peer})`)
          throw refusal('timeout', 'The server could not check the credentials in time: try again later.', { retryable: true })
        }
        if (EchoError.is(error) && error.code === ErrorCodes.E_UNAUTHORIZED) throw await failed(address, refusal('refused', error.message))
        // An unexpected failure (a database down…) is the server's problem: not counted against the
        // peer, and its message stays in the server's log rather than reaching the peer.
        logger.error(`auth: authenticate threw for peer ${session.peer}: ${(error as Error)?.message ?? error}`)
        throw refusal('error', 'The server failed while checking the credentials: try again later.', { retryable: true })
      }
      if (identity === false || identity === null || identity === undefined) {
        throw await failed(address, refusal('refused', 'Credentials refused: the server did not accept them. Check the token the client sends (options.auth.credentials or client.auth.setCredentials): it may be wrong, expired or revoked.'))
      }
      session.data.set(IDENTITY_KEY, identity)
    },

    onAuthorize(action, session) {
      for (const check of auth.checks) {
        let verdict: ReturnType<Authorize>
        try {
          verdict = check(action, session)
        } catch (error) {
          if (EchoError.is(error)) return error
          logger.error(`auth: an authorize check threw for ${action.kind} '${action.name}': ${(error as Error)?.message ?? error}`)
          return refusal('error', `Could not authorise this session to ${describeAction(action)}: the server's check failed. Try again later.`, { retryable: true })
        }
        if (verdict === false) {
          const who = describeIdentity(session.data.get(IDENTITY_KEY))
          return refusal('forbidden', `${capitalize(who)} is not allowed to ${describeAction(action)}: the server's authorize check refused it. Use an account that has access.`)
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
    return refusal('forbidden', `${capitalize(describeRoles(roles))} is not allowed to ${describeAction(action)}: ${fix}.`)
  }
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.ceil(ms / 1000)} s`
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
