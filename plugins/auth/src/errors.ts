/**
 * Every error the auth plugin makes, from one table (STYLE rule 7, the shape of `rpcErrors`): throw
 * sites pass only arguments. A refused peer only ever sees `E_UNAUTHORIZED`; `data.reason` tells a
 * client program why without parsing the message.
 */
import { defineErrors, describe, ErrorCodes, type Action } from '@echostream/kernel'

export const AuthErrorCodes = {
  /** Authentication or authorisation refused (sent to the peer). */
  E_UNAUTHORIZED: ErrorCodes.E_UNAUTHORIZED,
  /** A wrong option, module or function given to the plugin (thrown locally). */
  E_CONFIG: ErrorCodes.E_CONFIG,
  /** A role-specific method called in the other role (thrown locally). */
  E_STATE: ErrorCodes.E_STATE,
} as const

/** Why a peer was refused, in the error's `data.reason`. */
export type RefusalReason = 'missing' | 'refused' | 'banned' | 'error' | 'timeout' | 'forbidden'

export interface RefusalData {
  reason: RefusalReason
  /** For `banned`: milliseconds until the address may try again. */
  retryAfterMs?: number
}

const C = AuthErrorCodes
const reason = (why: RefusalReason): RefusalData => ({ reason: why })

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.ceil(ms / 1000)} s`
}

export const authErrors = defineErrors({
  // ------------------------------------------------------------ local: configuration and role
  notAFunction: {
    code: C.E_CONFIG,
    message: (from: string, shape: string, value: unknown) =>
      `${from} must be a function ${shape}, got ${describe(value)}. Functions can be given in code or in a .ts/.mjs config; from a JSON or YAML config use options.auth.module.`,
  },
  moduleNotLoaded: {
    code: C.E_CONFIG,
    message: (spec: string, why: string) => `options.auth.module '${spec}' cannot be loaded: ${why}`,
  },
  moduleWithoutAuthenticate: {
    code: C.E_CONFIG,
    message: (spec: string) => `options.auth.module '${spec}' exports no authenticate function: add \`export function authenticate(credentials, session) { … }\`.`,
  },
  twoAuthenticates: {
    code: C.E_CONFIG,
    message: (module: string) => `options['auth'] gives both authenticate and module '${module}' (which exports one): keep one of them.`,
  },
  tokenWithoutIdentity: {
    code: C.E_CONFIG,
    message: (where: string) => `${where}.identity is missing, null or false: give each token the identity it admits, e.g. { "token": "\${ADMIN_TOKEN}", "identity": { "role": "admin" } }.`,
  },
  noAuthenticate: {
    code: C.E_CONFIG,
    message: () => "The auth plugin has no authenticate function and no tokens: give options['auth'].tokens, options['auth'].authenticate, options['auth'].module, or call server.auth.authenticate(fn) before start().",
  },
  wrongRole: {
    code: C.E_STATE,
    message: (method: string, role: string) => `auth.${method}() works on a ${role === 'server' ? 'client' : 'server'} only; this kernel is a ${role}.`,
  },

  // ------------------------------------------------------------ refusals sent to the peer
  bannedNow: {
    code: C.E_UNAUTHORIZED,
    retryable: true,
    message: (previous: string, failures: number, address: string, bannedForMs: number) =>
      `${previous} That was failure ${failures} in a row from ${address}: it is now refused for ${seconds(bannedForMs)} without checking credentials; fix the credentials, then retry after that.`,
    data: (_previous: string, _failures: number, _address: string, bannedForMs: number): RefusalData => ({ reason: 'banned', retryAfterMs: bannedForMs }),
  },
  stillBanned: {
    code: C.E_UNAUTHORIZED,
    retryable: true,
    message: (address: string, bannedForMs: number) => `Too many failed authentications from ${address}: refused for another ${seconds(bannedForMs)} without checking credentials. Fix the credentials, then retry after that.`,
    data: (_address: string, bannedForMs: number): RefusalData => ({ reason: 'banned', retryAfterMs: bannedForMs }),
  },
  missing: {
    code: C.E_UNAUTHORIZED,
    message: () =>
      "No credentials in the handshake, and this server requires them: load @echostream/plugin-auth on the client and set options.auth.credentials (e.g. '${TOKEN}') or call client.auth.setCredentials(token) before start().",
    data: () => reason('missing'),
  },
  notReady: {
    code: C.E_UNAUTHORIZED,
    retryable: true,
    message: () => 'The server has no authenticate function yet: try again later.',
    data: () => reason('error'),
  },
  timedOut: {
    code: C.E_UNAUTHORIZED,
    retryable: true,
    message: () => 'The server could not check the credentials in time: try again later.',
    data: () => reason('timeout'),
  },
  refusedWith: {
    code: C.E_UNAUTHORIZED,
    message: (message: string) => message,
    data: () => reason('refused'),
  },
  refused: {
    code: C.E_UNAUTHORIZED,
    message: () =>
      'Credentials refused: the server did not accept them. Check the token the client sends (options.auth.credentials or client.auth.setCredentials): it may be wrong, expired or revoked.',
    data: () => reason('refused'),
  },
  checkFailed: {
    code: C.E_UNAUTHORIZED,
    retryable: true,
    message: () => 'The server failed while checking the credentials: try again later.',
    data: () => reason('error'),
  },
  authorizeFailed: {
    code: C.E_UNAUTHORIZED,
    retryable: true,
    message: (action: Action) => `Could not authorise this session to ${describeAction(action)}: the server's check failed. Try again later.`,
    data: () => reason('error'),
  },
  forbidden: {
    code: C.E_UNAUTHORIZED,
    message: (who: string, action: Action) => `${capitalize(who)} is not allowed to ${describeAction(action)}: the server's authorize check refused it. Use an account that has access.`,
    data: () => reason('forbidden'),
  },
  forbiddenByRules: {
    code: C.E_UNAUTHORIZED,
    message: (roles: string, action: Action, fix: string) => `${capitalize(roles)} is not allowed to ${describeAction(action)}: ${fix}.`,
    data: () => reason('forbidden'),
  },
})

const VERBS: Record<string, string> = { rpc: 'call', event: 'emit', room: 'join', stream: 'open' }

/** `call rpc 'admin.drop'`, `join room 'admins'`… */
export function describeAction(action: Action): string {
  return `${VERBS[action.kind] ?? 'use'} ${action.kind} '${action.name}'`
}

/** A short, safe name for an identity in a message: its id/name field, a short string, or "this session". */
export function describeIdentity(identity: unknown): string {
  if (typeof identity === 'string' && identity.length <= 64) return `'${identity}'`
  if (typeof identity === 'object' && identity !== null) {
    for (const key of ['id', 'name', 'user', 'sub']) {
      const value = (identity as Record<string, unknown>)[key]
      if ((typeof value === 'string' && value.length <= 64) || typeof value === 'number') return `'${value}'`
    }
  }
  return 'this session'
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
