import { createRequire } from 'node:module'
import { definePlugin, messageOf, Stage, type HelloPayload, type PluginKernel } from '@echostream/kernel'
import { authErrors } from './errors.js'
import { schema, type Authenticate, type Authorize, type AuthOptions, type Credentials } from './options.js'
import { createServerAuth, IDENTITY_KEY, Timers } from './server.js'
import { tokenAuthenticator } from './tokens.js'
import type { AuthApi, Identity } from './types.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

const PLUGIN_NAME = 'auth'
/** The `hello` field that carries the client's credentials. */
export const HELLO_FIELD = 'auth'

function checkFunction(value: unknown, option: 'authenticate' | 'authorize', from: string): void {
  if (value !== undefined && typeof value !== 'function') {
    const shape = option === 'authenticate' ? '(credentials, session) => identity | false | Promise<…>' : '(action, session) => boolean | EchoError | void'
    throw authErrors.notAFunction(from, shape, value)
  }
}

/** Loads `options.module`: a module exporting `authenticate` and optionally `authorize`. */
async function loadModule(kernel: PluginKernel, spec: string): Promise<{ authenticate: Authenticate; authorize?: Authorize }> {
  let ns: Record<string, unknown>
  try {
    ns = await kernel.importModule(spec)
  } catch (error) {
    throw Object.assign(authErrors.moduleNotLoaded(spec, messageOf(error)), { cause: error })
  }
  const fallback = (typeof ns.default === 'object' && ns.default !== null ? ns.default : {}) as Record<string, unknown>
  const authenticate = ns.authenticate ?? fallback.authenticate
  const authorize = ns.authorize ?? fallback.authorize
  if (authenticate === undefined) {
    throw authErrors.moduleWithoutAuthenticate(spec)
  }
  checkFunction(authenticate, 'authenticate', `The authenticate export of '${spec}'`)
  checkFunction(authorize, 'authorize', `The authorize export of '${spec}'`)
  return { authenticate: authenticate as Authenticate, authorize: authorize as Authorize | undefined }
}

const wrongRole = authErrors.wrongRole

/**
 * Authentication and authorisation. Client: sends credentials in `hello.auth`. Server: runs
 * `authenticate` before any other `connect` tap, keeps the identity in `session.data` ('auth'),
 * and answers the kernel's `authorize` hook from rules and authorize functions. Exposes `kernel.auth`.
 */
export default definePlugin<AuthOptions>({
  name: PLUGIN_NAME,
  version,
  kernel: '^1',
  provides: ['auth'],
  requires: ['transport', 'codec'],
  wire: 1,
  schema,
  async setup(kernel, options) {
    if (kernel.role === 'client') {
      let credentials: Credentials | (() => Credentials) = options.credentials
      kernel.hooks.hello.tap(PLUGIN_NAME, (hello: HelloPayload) => {
        const value = typeof credentials === 'function' ? (credentials as () => Credentials)() : credentials
        return value === undefined ? hello : { ...hello, [HELLO_FIELD]: value }
      })
      const api: AuthApi = {
        setCredentials(value) {
          credentials = value
        },
        authenticate: () => {
          throw wrongRole('authenticate', 'client')
        },
        authorize: () => {
          throw wrongRole('authorize', 'client')
        },
        identity: () => {
          throw wrongRole('identity', 'client')
        },
        login: async () => {
          throw wrongRole('login', 'client')
        },
        logout: () => {
          throw wrongRole('logout', 'client')
        },
        resetFailures: () => {
          throw wrongRole('resetFailures', 'client')
        },
      }
      kernel.expose('auth', api)
      return
    }

    checkFunction(options.authenticate, 'authenticate', "options['auth'].authenticate")
    checkFunction(options.authorize, 'authorize', "options['auth'].authorize")
    const fromModule = options.module ? await loadModule(kernel, options.module) : undefined
    if (fromModule && options.authenticate) {
      throw authErrors.twoAuthenticates(options.module!)
    }
    const timers = new Timers()
    const auth = createServerAuth(options, kernel.logger, timers)
    // Static tokens first (constant time), then the authenticate function, if any, for the rest.
    const byToken = options.tokens?.length ? tokenAuthenticator(options.tokens, "options['auth'].tokens") : undefined
    const useAuthenticate = (fn: Authenticate | undefined) => {
      auth.authenticate = byToken
        ? (credentials, session) => {
            const identity = byToken(credentials)
            return identity !== false ? identity : fn ? fn(credentials, session) : false
          }
        : fn
    }
    useAuthenticate(options.authenticate ?? fromModule?.authenticate)
    if (options.authorize) auth.checks.push(options.authorize)
    if (fromModule?.authorize) auth.checks.push(fromModule.authorize)

    kernel.hooks.start.tapPromise({ name: PLUGIN_NAME, stage: Stage.FIRST }, async () => {
      if (!auth.authenticate) {
        throw authErrors.noAuthenticate()
      }
    })
    // The kernel removes the credentials from the handshake once `connect` taps ran (and on a resume).
    kernel.registerCredentials(HELLO_FIELD)
    // FIRST: no other plugin's connect tap (and so no app code) runs for a peer that is refused.
    kernel.hooks.connect.tapPromise({ name: PLUGIN_NAME, stage: Stage.FIRST }, (session) => auth.onConnect(session))
    kernel.hooks.authorize.tap({ name: PLUGIN_NAME, stage: Stage.NORMAL }, (action, session) => auth.onAuthorize(action, session))

    const api: AuthApi = {
      setCredentials: () => {
        throw wrongRole('setCredentials', 'server')
      },
      authenticate(fn) {
        checkFunction(fn, 'authenticate', 'server.auth.authenticate(fn): fn')
        useAuthenticate(fn)
      },
      authorize(fn) {
        checkFunction(fn, 'authorize', 'server.auth.authorize(fn): fn')
        auth.checks.push(fn)
        return () => {
          const index = auth.checks.indexOf(fn)
          if (index >= 0) auth.checks.splice(index, 1)
        }
      },
      identity(session) {
        return session.data.get(IDENTITY_KEY) as Identity | undefined
      },
      async login(session, credentials) {
        return (await auth.login(session, credentials)) as Identity
      },
      logout(session) {
        session.data.delete(IDENTITY_KEY)
      },
      resetFailures(address) {
        auth.throttle?.reset(address)
      },
    }
    kernel.expose('auth', api)
    return () => timers.clear()
  },
})

export { schema, type AuthOptions, type Authenticate, type Authorize, type Credentials, type RulesOptions, type ThrottleOptions } from './options.js'
export { authErrors, AuthErrorCodes, type RefusalData, type RefusalReason } from './errors.js'
export { FailureThrottle, type FailureOutcome } from './throttle.js'
export { compileRules, type CompiledRules } from './rules.js'
export { addressOf } from './address.js'
export { safeEqual, tokenAuthenticator, MAX_TOKEN_LENGTH, type TokenEntry } from './tokens.js'
export type { AuthApi, AuthRegistry, Identity } from './types.js'
