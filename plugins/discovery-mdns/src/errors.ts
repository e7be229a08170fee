/**
 * The discovery plugin's errors, made by one factory (STYLE rule 7). It only uses kernel codes:
 * E_CLOSED (retryable) when no server answered, E_CONFIG for an unusable interface, E_STATE for a
 * call after the kernel stopped, E_PLUGIN for a kernel that is too old.
 */
import { createError, ErrorCodes, type EchoError, type EchoErrorOptions } from '@echostream/kernel'

export const DiscoveryErrorCodes = {
  /** No server answered in time (client start). Retryable: the server may just be starting. */
  E_CLOSED: ErrorCodes.E_CLOSED,
  /** An option cannot work on this machine (e.g. `interface` is not one of its addresses). */
  E_CONFIG: ErrorCodes.E_CONFIG,
  /** Discovery used after the kernel stopped. */
  E_STATE: ErrorCodes.E_STATE,
  /** A bad argument to an API call (`setProperties` with properties that cannot be advertised). */
  E_INVALID_ARGUMENT: ErrorCodes.E_INVALID_ARGUMENT,
  /** The kernel lacks what the plugin needs (the `listening` hook). */
  E_PLUGIN: ErrorCodes.E_PLUGIN,
} as const

export type DiscoveryErrorCode = (typeof DiscoveryErrorCodes)[keyof typeof DiscoveryErrorCodes]

export function discoveryError(code: DiscoveryErrorCode, message: string, options?: EchoErrorOptions): EchoError {
  return createError(code, message, options)
}
