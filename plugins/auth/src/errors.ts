/**
 * The auth plugin's errors, made by one factory (STYLE rule 7). A refused peer only ever sees
 * `E_UNAUTHORIZED`; `data.reason` tells a client program why without parsing the message.
 */
import { createError, ErrorCodes, type Action, type EchoError } from '@echostream/kernel'

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

export function authError(code: (typeof AuthErrorCodes)[keyof typeof AuthErrorCodes], message: string, cause?: unknown): EchoError {
  return createError(code, message, cause === undefined ? undefined : { cause })
}

export function refusal(reason: RefusalReason, message: string, extra: { retryAfterMs?: number; retryable?: boolean } = {}): EchoError {
  const data: RefusalData = extra.retryAfterMs === undefined ? { reason } : { reason, retryAfterMs: extra.retryAfterMs }
  return createError(ErrorCodes.E_UNAUTHORIZED, message, { data, retryable: extra.retryable ?? false })
}

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
