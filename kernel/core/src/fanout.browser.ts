/**
 * What a browser bundle gets for fanout.ts (the package's `browser` field maps it here): a page has
 * one session and never broadcasts, so `kernel.fanout`/`sendMany` refuse.
 */
import { kernelErrors } from './kernel-errors.js'
import type { FanoutReport, Outbound } from './outbound.js'

export function fanout(_out: Outbound, _sessions?: unknown, _frame?: unknown, _options?: unknown): FanoutReport {
  throw kernelErrors.fanoutInBrowser()
}
