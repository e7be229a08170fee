/**
 * Every error the clock-sync plugin makes, from one table (STYLE rule 7, the shape of `rpcErrors`).
 */
import { defineErrors, ErrorCodes } from '@echostream/kernel'

export const ClockSyncErrorCodes = {
  /** A wrong option (a `now` that is not a function). */
  E_CONFIG: ErrorCodes.E_CONFIG,
  /** `whenSynced` did not get its probe answers in time. */
  E_TIMEOUT: ErrorCodes.E_TIMEOUT,
} as const

export const clockErrors = defineErrors({
  badNow: {
    code: ClockSyncErrorCodes.E_CONFIG,
    message: () => `options['clock-sync'].now must be a function returning µs; remove it to use the platform clock.`,
  },
  serverInBrowser: {
    code: ClockSyncErrorCodes.E_CONFIG,
    message: () => "clock-sync's server side is not in its browser build (a page is a client): run servers on Node.",
  },
  notSynced: {
    code: ClockSyncErrorCodes.E_TIMEOUT,
    retryable: true,
    message: (accepted: number, samples: number, timeoutMs: number, rejected: number) =>
      `Clock sync took ${accepted} of ${samples} probe answers within ${timeoutMs} ms (${rejected} more rejected: timestamps the path cannot explain). If none came, is the server loading @echostream/plugin-clock-sync? Else wait longer (timeoutMs) or ask for fewer samples.`,
  },
})
