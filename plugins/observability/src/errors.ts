/**
 * Every error the observability plugin makes, from one table (STYLE rule 7, the shape of
 * `rpcErrors`). Codes are the kernel's; messages say what to do next.
 */
import { defineErrors, describe, ErrorCodes } from '@echostream/kernel'

export const ObservabilityErrorCodes = {
  /** The admin listener could not bind, the log destination could not be opened. */
  E_CONFIG: ErrorCodes.E_CONFIG,
  /** A bad argument to the plugin's API (readiness check name or function). */
  E_INVALID_ARGUMENT: ErrorCodes.E_INVALID_ARGUMENT,
} as const

const C = ObservabilityErrorCodes

export const observabilityErrors = defineErrors({
  adminListen: {
    code: C.E_CONFIG,
    message: (host: string, port: number, why: string) =>
      `The observability admin listener cannot listen on ${host}:${port} (${why}): choose another options.observability.port (0 picks a free one), or set admin: false.`,
  },
  destination: {
    code: C.E_CONFIG,
    message: (path: string, why: string) => `Cannot open the log destination '${path}' (${why}): set options.observability.destination to 'stdout', 'stderr' or a writable file path.`,
  },
  badCheck: {
    code: C.E_INVALID_ARGUMENT,
    message: (name: unknown, check: unknown) =>
      `observability.addReadinessCheck(name, check): name must be a non-empty string and check a function returning true (ready) or a reason string; got ${describe(name)} and ${describe(check)}.`,
  },
  duplicateCheck: {
    code: C.E_INVALID_ARGUMENT,
    message: (name: string) => `A readiness check named '${name}' is already registered: call the function addReadinessCheck returned to remove it first, or use another name.`,
  },
})
